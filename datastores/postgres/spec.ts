import { databaseOnServer, databaseServerSchema, defineKind } from '../kind';

/** The port and user a manifest gets when it names none; live discovery's too. */
export const postgresDefaults = { port: 5432, user: 'postgres' };

/** A PostgreSQL database; a drill's copy is another database on the same server. */
export const postgres = defineKind({
  kind: 'postgres',
  schema: databaseServerSchema('postgres', postgresDefaults.port, postgresDefaults.user),
  ...databaseOnServer,
  capture: { log: 'the WAL' },
  discovery: {
    tier: 'critical',
    engines: [
      {
        engine: 'postgres',
        images: /(^|\/)(postgres|postgresql|postgis|timescaledb[\w-]*|pgvector|supabase\/postgres)$/,
        ports: [postgresDefaults.port],
        env: /^(PGDATA|POSTGRES_HOST_AUTH_METHOD|POSTGRES_INITDB_\w+)$/,
      },
    ],
    fromCompose(host, env) {
      const user = env.POSTGRES_USER || postgresDefaults.user;
      return {
        kind: 'postgres',
        host,
        user,
        database: env.POSTGRES_DB || user,
        ...(env.POSTGRES_PASSWORD ? { password: { env: 'POSTGRES_PASSWORD' } } : {}),
      };
    },
  },
});
