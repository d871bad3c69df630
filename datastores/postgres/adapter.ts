import { Client } from 'pg';
import { ContentHash } from '../shared/fingerprint';
import type { Datastore } from '../../model/manifest';
import type { AdapterFor } from '../adapter';
import { postgres } from './spec';
import { connectionArgs, quoteIdentifier, stagedDatabase } from '../shared/staged-database';
import { commandOutput } from '../shared/process';
import { resolveSecret } from '../shared/secrets';

type PostgresStore = Extract<Datastore, { kind: 'postgres' }>;

/** The WAL position: the replayed one on a standby, the written one on a primary. */
const currentLsn = `(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text`;

/**
 * PostgreSQL with pg_dump's custom format (uncompressed: the repository compresses after
 * deduplicating), restored with pg_restore into a staging database that is then renamed
 * into place in one transaction.
 */
export const postgresAdapter: AdapterFor<'postgres'> = {
  kind: 'postgres',

  async snapshot(store, ctx) {
    return dump(store, ctx.signal, []);
  },

  async logPosition(store) {
    return withAdmin(
      store,
      async (admin) => `lsn ${(await admin.query(`SELECT ${currentLsn} AS lsn`)).rows[0].lsn}`,
    );
  },

  /**
   * An exported snapshot, held by an open transaction until pg_dump has read it out. The
   * application's pause gate is what stops writes; the snapshot fixes the moment.
   */
  async snapshotPoint(store, ctx) {
    const holder = new Client(clientConfig(store, store.database));
    await holder.connect();
    let point: { snapshot: string; lsn: string };
    try {
      await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const { rows } = await holder.query(`SELECT pg_export_snapshot() AS snapshot, ${currentLsn} AS lsn`);
      point = rows[0] as typeof point;
    } catch (err) {
      await holder.end();
      throw err;
    }
    let closed: Promise<void> | undefined;
    const close = () => (closed ??= holder.end());
    return {
      position: `lsn ${point.lsn}`,
      async open() {
        const stream = dump(store, ctx.signal, ['--snapshot', point.snapshot]);
        stream.on('close', () => void close());
        return stream;
      },
      close,
    };
  },

  restore: (store, data, ctx) => staged.restore(store, data, ctx),

  async fingerprint(store) {
    const client = new Client(clientConfig(store, store.database));
    await client.connect();
    try {
      const sum = new ContentHash();
      const { rows: tables } = await client.query(
        `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
         WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
         ORDER BY 1, 2`,
      );
      for (const { schema, name } of tables as { schema: string; name: string }[]) {
        const qualified = `${ident(schema)}.${ident(name)}`;
        // Each row as text, ordered by its own text: stable whatever the physical order.
        const { rows } = await client.query(`SELECT t::text AS row FROM ${qualified} t ORDER BY 1`);
        sum.add('table', schema, name, ...rows.map((r: { row: string }) => r.row));
      }
      return sum.hex();
    } finally {
      await client.end();
    }
  },

  discard: (store, ctx) => staged.discard(store, ctx),

  async holdsData(store) {
    const exists = await withAdmin(store, async (admin) => {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [
        store.database,
      ]);
      return rowCount === 1;
    });
    // An empty database (created for the restore, say) holds nothing: only its tables count.
    const row = exists
      ? await this.firstRow!(
          store,
          `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`,
        )
      : undefined;
    return Number(row?.[0] ?? 0) > 0;
  },
  drop: (store) => withAdmin(store, (admin) => dropDatabase(admin, store.database)),
  async count(store, table) {
    const qualified = table.split('.').map(ident).join('.');
    const row = await this.firstRow!(store, `SELECT COUNT(*) FROM ${qualified}`);
    return Number(row?.[0]);
  },
  async firstRow(store, sql) {
    const client = new Client(clientConfig(store, store.database));
    await client.connect();
    try {
      const { rows } = await client.query({ text: sql, rowMode: 'array' });
      return rows[0] as unknown[] | undefined;
    } finally {
      await client.end();
    }
  },
  retarget: postgres.retarget,
  describe: (store) => `postgres://${store.user}@${store.host}:${store.port}/${store.database}`,
};

function dump(store: PostgresStore, signal: AbortSignal, extraArgs: string[]) {
  return commandOutput({
    cmd: 'pg_dump',
    args: [
      ...connectionArgs(store, '--username'),
      '--format=custom',
      '--compress=0',
      '--no-password',
      ...extraArgs,
      store.database,
    ],
    env: passwordEnv(store),
    signal,
  });
}

async function swapDatabases(
  admin: Client,
  target: string,
  staging: string,
  setAside: string,
): Promise<void> {
  const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [target]);
  // A database with open sessions cannot be renamed: the restore replaces it, so they end.
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [target]);
  await admin.query('BEGIN');
  try {
    if (rowCount) await admin.query(`ALTER DATABASE ${ident(target)} RENAME TO ${ident(setAside)}`);
    await admin.query(`ALTER DATABASE ${ident(staging)} RENAME TO ${ident(target)}`);
    await admin.query('COMMIT');
  } catch (err) {
    await admin.query('ROLLBACK');
    throw err;
  }
  await dropDatabase(admin, setAside);
}

async function dropDatabase(admin: Client, name: string): Promise<void> {
  await admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
}

const ident = (name: string) => quoteIdentifier(name, '"');

function passwordEnv(store: PostgresStore): Record<string, string | undefined> {
  // PGCONNECT_TIMEOUT: the tools give up on a server that does not answer, as the client does.
  return { PGPASSWORD: resolveSecret(store.password), PGCONNECT_TIMEOUT: '10' };
}

/** PostgreSQL's part of the staged restore: pg_restore, and a rename of whole databases. */
const staged = stagedDatabase<PostgresStore, Client>({
  async connectAdmin(store) {
    const admin = new Client(clientConfig(store, 'postgres'));
    await admin.connect();
    return admin;
  },
  closeAdmin: (admin) => admin.end(),
  execute: (admin, sql) => admin.query(sql),
  ident,
  dropDatabase,
  loadCommand: (store, database) => ({
    cmd: 'pg_restore',
    args: [
      ...connectionArgs(store, '--username'),
      '--no-owner',
      '--exit-on-error',
      '--no-password',
      '--dbname',
      database,
    ],
  }),
  toolEnv: passwordEnv,
  swap: (admin, store, staging, setAside) => swapDatabases(admin, store.database, staging, setAside),
});
const { withAdmin } = staged;

function clientConfig(store: PostgresStore, database: string) {
  return {
    host: store.host,
    port: store.port,
    user: store.user,
    password: resolveSecret(store.password),
    database,
    // A server that does not answer fails the attempt instead of hanging it (it is retried).
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
  };
}
