import { z } from 'zod';
import { secretRefSchema } from '../../model/secret-ref';
import { databaseOnServer, defineKind, portSchema } from '../kind';

/** The port a manifest gets when it names none; live discovery's too. */
export const mongodbDefaults = { port: 27017 };

/** Databases the server keeps for itself: never an application's store. */
export const systemDatabases = ['admin', 'local', 'config'];

/**
 * A MongoDB database (or one on a MongoDB-wire server such as FerretDB); a drill's copy is
 * another database on the same server, its name derived from the original's.
 */
export const mongodb = defineKind({
  kind: 'mongodb',
  schema: z.strictObject({
    kind: z.literal('mongodb'),
    host: z.string().default('127.0.0.1'),
    port: portSchema.default(mongodbDefaults.port),
    database: z
      .string()
      .min(1)
      .regex(/^[^/\\. "$]+$/, 'a MongoDB database name has no / \\ . space " or $'),
    user: z.string().min(1).optional(),
    password: secretRefSchema.optional(),
    auth_source: z
      .string()
      .min(1)
      .optional()
      .describe('The database the user is defined in; MongoDB assumes the store database (images: admin)'),
    replica_set: z.string().min(1).optional().describe('The replica set name, when the server is one'),
    tls: z.boolean().default(false),
  }),
  ...databaseOnServer,
  validators: ['document_count', 'mongo_query', 'checksum', 'command', 'http'],
  discovery: {
    tier: 'critical',
    engines: [
      {
        engine: 'mongodb',
        images:
          /(^|\/)(mongo|mongodb|mongodb-community-server|mongodb-enterprise-server|percona-server-mongodb)$/,
        ports: [mongodbDefaults.port],
        env: /^(MONGO_INITDB_\w+|MONGODB_ROOT_(USER|PASSWORD)|MONGODB_REPLICA_SET_\w+)$/,
      },
    ],
    fromCompose(host, env) {
      // The official image's root user lives in admin; bitnami's too.
      const user =
        env.MONGO_INITDB_ROOT_USERNAME || (env.MONGODB_ROOT_PASSWORD ? env.MONGODB_ROOT_USER || 'root' : '');
      const password = env.MONGO_INITDB_ROOT_PASSWORD
        ? 'MONGO_INITDB_ROOT_PASSWORD'
        : env.MONGODB_ROOT_PASSWORD
          ? 'MONGODB_ROOT_PASSWORD'
          : undefined;
      return {
        kind: 'mongodb',
        host,
        database: env.MONGO_INITDB_DATABASE || env.MONGODB_DATABASE || host,
        ...(user ? { user, auth_source: 'admin' } : {}),
        ...(password ? { password: { env: password } } : {}),
      };
    },
  },
});
