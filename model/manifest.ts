/**
 * The application manifest: one YAML file describing services, their datastores,
 * the dependencies between services and their tiers. The zod schema is the single
 * definition: validation, TypeScript types and the editor JSON Schema all come from it.
 */
import { z } from 'zod';

/** A secret is referenced, never written inline: its value is read by the worker at run time. */
export const secretRefSchema = z
  .union(
    [
      z.strictObject({
        env: z.string().min(1).describe('Name of the environment variable that holds the secret'),
      }),
      z.strictObject({ file: z.string().min(1).describe('Path of a file whose content is the secret') }),
    ],
    { error: 'must be a reference, {env: NAME} or {file: PATH}, never the secret itself' },
  )
  .describe('A secret reference: {env: NAME} or {file: PATH}');
export type SecretRef = z.infer<typeof secretRefSchema>;

const port = z.number().int().min(1).max(65535);

const sqliteStore = z.strictObject({
  kind: z.literal('sqlite'),
  path: z.string().min(1).describe('Path of the SQLite database file'),
});
const directoryStore = z.strictObject({
  kind: z.literal('directory'),
  path: z.string().min(1).describe('Directory tree to back up (files, or a local object-storage bucket)'),
});
/** A database server reached over the network: PostgreSQL and MariaDB/MySQL share these fields. */
function databaseServerStore<K extends string>(kind: K, defaultPort: number, defaultUser: string) {
  return z.strictObject({
    kind: z.literal(kind),
    host: z.string().default('127.0.0.1'),
    port: port.default(defaultPort),
    user: z.string().default(defaultUser),
    database: z.string().min(1),
    password: secretRefSchema.optional(),
  });
}
const postgresStore = databaseServerStore('postgres', 5432, 'postgres');
const mariadbStore = databaseServerStore('mariadb', 3306, 'root');
const redisStore = z.strictObject({
  kind: z.literal('redis'),
  host: z.string().default('127.0.0.1'),
  port: port.default(6379),
  db: z.number().int().min(0).default(0),
  staging_db: z
    .number()
    .int()
    .min(0)
    .default(15)
    .describe('An empty database index used to stage a restore before it is swapped in (SWAPDB)'),
  password: secretRefSchema.optional(),
});

export const datastoreSchema = z.discriminatedUnion('kind', [
  sqliteStore,
  directoryStore,
  postgresStore,
  mariadbStore,
  redisStore,
]);
export type Datastore = z.infer<typeof datastoreSchema>;
export type DatastoreKind = Datastore['kind'];

export const tierNames = ['critical', 'standard', 'archive'] as const;

const serviceName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use lowercase letters, digits, "-" and "_" (at most 63 characters)');

export const serviceSchema = z.strictObject({
  description: z.string().optional(),
  tier: z.enum(tierNames).default('standard'),
  depends_on: z.array(serviceName).default([]).describe('Services that must be restored before this one'),
  datastore: datastoreSchema
    .optional()
    .describe('Where this service keeps its state; omit for a stateless service'),
});
export type Service = z.infer<typeof serviceSchema>;

export const manifestSchema = z.strictObject({
  app: serviceName.describe('Name of the application'),
  repository: z
    .strictObject({ path: z.string().min(1).describe('Directory of the local repository') })
    .optional()
    .describe('Where snapshots are kept; default: .lazarus/repo beside the manifest'),
  services: z
    .record(serviceName, serviceSchema)
    .refine((s) => Object.keys(s).length > 0, 'an application needs at least one service'),
});

/** A validated manifest: relative paths resolved, defaults applied. Plain data: safe in workflow history. */
export interface Manifest {
  app: string;
  repository: { path: string };
  services: Record<string, Service>;
}
