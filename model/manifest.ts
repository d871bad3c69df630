/**
 * The application manifest: one YAML file describing services, their datastores,
 * the dependencies between services and their tiers. The zod schema is the single
 * definition: validation, TypeScript types and the editor JSON Schema all come from it.
 */
import { z } from 'zod';
import type { RepositorySpec } from '../contracts/repository-spec';
import { cacheSchema } from '../datastores/caches/spec';
import { datastoreSchema } from '../datastores/registry';
import { functionSchema } from '../functions/registry';
import { durationSchema } from './duration';
import { checkpointEverySchema, pitrSchema, type PitrPolicy } from './pitr-policy';
import { validatorSchema } from './validators';

export { secretRefSchema, type SecretRef } from './secret-ref';
export { datastoreSchema, type Datastore, type DatastoreKind } from '../datastores/registry';

/** The tiers every manifest has, with default targets; a manifest may declare tiers of its own. */
export const builtInTiers = ['critical', 'standard', 'archive'] as const;
export type BuiltInTier = (typeof builtInTiers)[number];
export type TierName = string;
export const isBuiltInTier = (tier: string): tier is BuiltInTier =>
  (builtInTiers as readonly string[]).includes(tier);

const hookLimits = { timeout: durationSchema({ ms: 86_400_000, text: '24h' }).default(60_000) };
const onError = z
  .enum(['fail', 'continue'])
  .default('fail')
  .describe('fail: the step fails when the hook does; continue: the failure is recorded and the run goes on');
/** A hook: a command run by the worker, or an HTTP request it sends. */
export const hookSchema = z.union(
  [
    z.strictObject({
      command: z
        .string()
        .min(1)
        .describe('A shell command, run by the worker with the LAZARUS_* variables set'),
      ...hookLimits,
      on_error: onError,
    }),
    z.strictObject({
      http: z.strictObject({
        url: z.url(),
        method: z.enum(['GET', 'POST', 'PUT']).default('POST'),
      }),
      ...hookLimits,
      on_error: onError,
    }),
  ],
  { error: 'a hook is {command: "..."} or {http: {url: "..."}}, with optional timeout and on_error' },
);
export type Hook = z.infer<typeof hookSchema>;

const serviceHooks = z
  .strictObject({
    pre_backup: hookSchema.optional(),
    post_backup: hookSchema.optional().describe('Runs after the snapshot, also when it failed'),
    post_restore: hookSchema.optional(),
  })
  .describe("Hooks around this service's own steps");
export type ServiceHookName = keyof z.infer<typeof serviceHooks>;

const appHooks = z
  .strictObject({
    before_backup: hookSchema.optional(),
    after_backup: hookSchema.optional().describe('Runs after every service, also when some failed'),
    before_restore: hookSchema.optional(),
    after_restore: hookSchema.optional(),
  })
  .describe('Hooks around a whole run');
export type AppHookName = keyof z.infer<typeof appHooks>;

export { validatorSchema, type Validator } from './validators';

const serviceName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use lowercase letters, digits, "-" and "_" (at most 63 characters)');
/** Part of schedule IDs (backup/<app>/<tier>), so the same characters as a service name. */
const tierName = serviceName;

export const serviceSchema = z.strictObject({
  description: z.string().optional(),
  tier: tierName
    .default('standard')
    .describe('critical, standard, archive, or a tier this manifest declares under tiers'),
  depends_on: z.array(serviceName).default([]).describe('Services that must be restored before this one'),
  datastore: datastoreSchema
    .optional()
    .describe('Where this service keeps its state; omit for a stateless service'),
  cache: cacheSchema
    .optional()
    .describe(
      'A cache (memcached, or Redis used as one): nothing is backed up; it is flushed after the services it depends_on are restored in place',
    ),
  function: functionSchema
    .optional()
    .describe(
      'A serverless function (a Worker on workerd, an AWS Lambda): every backup keeps its live version; restores deploy it after the services it depends_on (its bound D1, KV, R2, tables)',
    ),
  hooks: serviceHooks.optional(),
  pitr: pitrSchema.optional(),
  validate: z
    .array(validatorSchema)
    .optional()
    .describe("Checks a DR drill runs on this service's restored copy"),
  unprotected: z
    .strictObject({
      engine: z.string().min(1).describe('What keeps the state: mongodb, kafka, elasticsearch...'),
      reason: z.string().optional(),
    })
    .optional()
    .describe(
      'State that Lazarus cannot back up yet: kept in the manifest so that it stays visible; `plan` and `discover` flag it',
    ),
});
export type Service = z.infer<typeof serviceSchema>;

const keepCount = z.number().int().nonnegative();
export const retentionSchema = z
  .strictObject({
    keep_last: keepCount.optional().describe('The newest N backups'),
    hourly: keepCount.optional().describe('The newest backup of each of the last N hours that have one'),
    daily: keepCount.optional().describe('... of each of the last N days'),
    weekly: keepCount.optional().describe('... of each of the last N ISO weeks'),
    monthly: keepCount.optional().describe('... of each of the last N months'),
    yearly: keepCount.optional().describe('... of each of the last N years'),
    within: durationSchema()
      .optional()
      .describe('Every backup newer than this, counted back from the newest'),
  })
  .describe("Which backups `lazarus forget` keeps for this tier's services; a backup any rule keeps is kept");
export type Retention = z.output<typeof retentionSchema>;

/** Byte sizes: a number of bytes, or "256KiB", "1MiB", "4MiB". */
const byteSize = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const match = /^(\d+)\s*(B|KiB|MiB|GiB)?$/.exec(value.trim());
  if (!match) {
    ctx.addIssue({
      code: 'custom',
      message: `"${value}" is not a size; write bytes (1048576) or 256KiB, 1MiB, 4MiB`,
    });
    return z.NEVER;
  }
  return Number(match[1]) * { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[match[2] ?? 'B']!;
});

/** When a scheduled run happens: at a fixed interval, or on a cron expression (UTC). */
export const cadenceSchema = z.union(
  [
    z.strictObject({ every: durationSchema().describe('An interval: 15m, 1h, 1d') }),
    z.strictObject({
      cron: z
        .string()
        .regex(
          /^(@(yearly|annually|monthly|weekly|daily|hourly)|\S+(\s+\S+){4,6})$/,
          'write five cron fields ("0 3 * * *") or @hourly, @daily, @weekly, @monthly, @yearly',
        )
        .describe('A cron expression, in UTC: "0 3 * * *"'),
    }),
  ],
  { error: 'a cadence is {every: 1h} or {cron: "0 3 * * *"}' },
);
export type Cadence = z.output<typeof cadenceSchema>;

export const adaptiveSchema = z
  .strictObject({
    min: durationSchema().describe('The shortest interval the scheduler may set'),
    max: durationSchema().optional().describe("The longest interval it may set; default: the tier's RPO"),
    at_risk: byteSize
      .optional()
      .describe(
        'Changed bytes a backup may leave unprotected: the interval is set so that the busiest store changes about this much between backups (default: critical 16MiB, standard 256MiB, archive 4GiB)',
      ),
  })
  .refine((a) => a.max === undefined || a.min <= a.max, 'min must not exceed max')
  .describe(
    "Lets the adaptive scheduler move this tier's backup interval between min and max by change rate",
  );

const tierTarget = z.strictObject({
  rto: durationSchema().optional().describe('Recovery time objective: the longest a restore may take'),
  rpo: durationSchema().optional().describe('Recovery point objective: the oldest the restored point may be'),
  retention: retentionSchema.optional(),
  backup: cadenceSchema
    .optional()
    .describe("When `lazarus schedule apply` backs this tier's services up; default: every RPO"),
  drill: cadenceSchema.optional().describe("When a DR drill of this tier's services runs; default: none"),
  adaptive: adaptiveSchema.optional(),
  catchup_window: durationSchema()
    .optional()
    .describe('How late a missed scheduled run (server down) may still start; default: one interval'),
  pitr: pitrSchema.optional(),
});
export interface TierTarget {
  rto: number;
  rpo: number;
  retention: Retention;
  backup?: Cadence;
  drill?: Cadence;
  adaptive?: z.output<typeof adaptiveSchema>;
  catchup_window?: number;
  pitr?: PitrPolicy;
}
export const defaultTierTargets: Record<BuiltInTier, TierTarget> = {
  critical: {
    rto: 15 * 60_000,
    rpo: 3_600_000,
    retention: { hourly: 48, daily: 14, weekly: 8, monthly: 12 },
  },
  standard: { rto: 3_600_000, rpo: 86_400_000, retention: { daily: 7, weekly: 4, monthly: 6 } },
  archive: { rto: 86_400_000, rpo: 7 * 86_400_000, retention: { weekly: 4, monthly: 24, yearly: 7 } },
};

export const repositorySchema = z
  .strictObject({
    path: z.string().min(1).optional().describe('Directory of a repository on the local filesystem'),
    s3: z
      .string()
      .regex(/^s3:\/\/[^/]+/, 'write s3://bucket or s3://bucket/prefix')
      .optional()
      .describe('A repository in S3-compatible object storage: s3://bucket/prefix'),
    endpoint: z.url().optional().describe('With s3: a server other than AWS, e.g. http://127.0.0.1:7070'),
    region: z
      .string()
      .min(1)
      .optional()
      .describe('With s3: the region (default $AWS_REGION, else us-east-1)'),
    password_file: z
      .string()
      .min(1)
      .optional()
      .describe(
        'File holding the password that encrypts the repository; else $LAZARUS_PASSWORD; neither: not encrypted',
      ),
    chunking: z
      .strictObject({ min: byteSize, avg: byteSize, max: byteSize })
      .refine((c) => c.min < c.avg && c.avg < c.max, 'sizes must satisfy min < avg < max')
      .optional()
      .describe(
        'Chunk sizes of a new repository (default 256KiB, 1MiB, 4MiB); an existing one keeps its own',
      ),
  })
  .refine((r) => !(r.path && r.s3), 'give either path or s3, not both')
  .refine((r) => r.s3 || (!r.endpoint && !r.region), 'endpoint and region go with s3');

export const costSchema = z
  .strictObject({
    per_gb_month: z.number().nonnegative().default(0.023).describe('Price of one GB stored for a month'),
    per_gb_transfer: z
      .number()
      .nonnegative()
      .default(0.09)
      .describe('Price of one GB transferred out (restores, drills)'),
  })
  .describe('Prices for `lazarus cost`; defaults are S3 Standard list prices');

export const consistencyGroupSchema = z.strictObject({
  members: z.array(serviceName).min(1).describe('Stateful services captured as of one moment'),
  max_freeze: durationSchema({ ms: 60_000, text: '60s' })
    .default(2000)
    .describe('The longest writes stay frozen; a freeze that would last longer is released and retried'),
  pause: hookSchema
    .optional()
    .describe("The application's own pause gate: returns once no write is in flight"),
  resume: hookSchema.optional().describe('Reopens the pause gate'),
  checkpoint_every: checkpointEverySchema,
});
export type ConsistencyGroup = z.output<typeof consistencyGroupSchema>;

export const manifestSchema = z.strictObject({
  app: serviceName.describe('Name of the application'),
  repository: repositorySchema
    .optional()
    .describe('Where snapshots are kept; default: .lazarus/repo beside the manifest'),
  cost: costSchema.optional(),
  services: z
    .record(serviceName, serviceSchema)
    .refine((s) => Object.keys(s).length > 0, 'an application needs at least one service'),
  hooks: appHooks.optional(),
  consistency_groups: z
    .record(serviceName, consistencyGroupSchema)
    .default({})
    .describe('Datastores of several services that must be captured as of one moment'),
  tiers: z
    .record(tierName, tierTarget)
    .default({})
    .describe(
      'Targets, retention and cadences per tier; defaults: critical 15m/1h, standard 1h/24h, archive 24h/7d. A tier of your own (gold, say) sets its rto, rpo and retention',
    ),
  drill: z
    .strictObject({
      sandbox: z.string().min(1).describe('Directory where drills restore file-based stores'),
    })
    .optional()
    .describe('Where drills restore; default: .lazarus/sandbox beside the manifest'),
});

/** A validated manifest: relative paths resolved, defaults applied. Plain data: safe in workflow history. */
export interface Manifest {
  app: string;
  repository: RepositorySpec;
  cost: { perGbMonth: number; perGbTransfer: number };
  services: Record<string, Service>;
  hooks: Partial<Record<AppHookName, Hook>>;
  consistencyGroups: Record<string, ConsistencyGroup>;
  tiers: Record<TierName, TierTarget>;
  sandbox: string;
}
