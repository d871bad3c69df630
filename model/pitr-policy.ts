/**
 * Continuous capture in the manifest: `pitr: {...}` on a service or a tier turns it on for
 * the stores it covers (a service's own setting wins over its tier's). Pure: workflows
 * read the policy they were started with.
 */
import { z } from 'zod';
import { durationSchema } from './duration';

export const pitrSchema = z
  .strictObject({
    window: durationSchema()
      .default(7 * 86_400_000)
      .describe('Recovery window: how far back any instant stays restorable (default 7d)'),
    base_every: durationSchema()
      .default(86_400_000)
      .describe(
        'How often a new base backup is taken; shorter means less log to replay, a faster restore (default 1d)',
      ),
    upload_every: durationSchema({ ms: 1000, text: '1s' })
      .default(500)
      .describe(
        'How often the growing log tail reaches the repository: at most 1s; default 500ms, which keeps the RPO under a second',
      ),
    session: durationSchema()
      .default(3_600_000)
      .describe('How long one capture session runs before it hands over to the next (default 1h)'),
    restore_as: z
      .enum(['database', 'cluster'])
      .default('database')
      .describe(
        'PostgreSQL: restore the one database, taken out of the recovered cluster, or every database of the cluster',
      ),
  })
  .describe('Continuous capture of the log for restore to any second (PostgreSQL, MariaDB, Redis)');

export type PitrPolicy = z.output<typeof pitrSchema>;

/** What a service's capture follows: its own policy, else its tier's; none: no capture. */
export function pitrPolicyOf(
  service: { tier: string; pitr?: PitrPolicy },
  tiers: Record<string, { pitr?: PitrPolicy }>,
): PitrPolicy | undefined {
  return service.pitr ?? tiers[service.tier]?.pitr;
}

/** A consistency group's checkpoints: every member's position at one instant. */
export const checkpointEverySchema = durationSchema()
  .optional()
  .describe(
    'With pitr on every member: record a group checkpoint this often (e.g. 5s); a restore to it gives one instant',
  );
