import { z } from 'zod';
import { secretRefSchema } from '../../model/secret-ref';
import { defineKind, portSchema, sameServer, serverIdentity } from '../kind';

/** The port a manifest gets when it names none; live discovery's too. */
export const redisDefaults = { port: 6379 };

/** A numbered Redis database (keyspace); a drill's copy is the index the manifest sets aside for drills. */
export const redis = defineKind({
  kind: 'redis',
  schema: z.strictObject({
    kind: z.literal('redis'),
    host: z.string().default('127.0.0.1'),
    port: portSchema.default(redisDefaults.port),
    db: z.number().int().min(0).default(0),
    staging_db: z
      .number()
      .int()
      .min(0)
      .default(15)
      .describe('An empty database index used to stage a restore before it is swapped in (SWAPDB)'),
    password: secretRefSchema.optional(),
    sandbox_db: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('An empty database index that DR drills restore into; drills refuse to run without it'),
  }),
  validators: ['key_count', 'checksum', 'command', 'http'],
  storedAt: 'server',
  sandboxTarget: (store, { service }) =>
    store.sandbox_db === undefined
      ? {
          problem: `services.${service}.datastore.sandbox_db is not set: name an empty Redis database index for drills`,
        }
      : { target: String(store.sandbox_db) },
  targetFormProblem: (target) =>
    /^\d+$/.test(target) ? undefined : 'name a Redis database index, such as 5',
  retarget: (store, target) => ({ ...store, db: Number(target) }),
  // The staging index is production's too: its next restore would flush a copy kept there.
  overlaps: (copy, production) =>
    sameServer(copy, production) && [production.db, production.staging_db].includes(copy.db),
  identity: (store) => `${serverIdentity(store)}/${store.db}`,
  capture: { log: 'the replication stream' },
  discovery: {
    tier: 'standard',
    engines: [
      { engine: 'redis', images: /(^|\/)(redis|redis-stack[\w-]*|keydb)$/, ports: [redisDefaults.port] },
      { engine: 'valkey', images: /(^|\/)valkey$/, ports: [] },
    ],
    fromCompose: (host) => ({ kind: 'redis', host }),
  },
});
