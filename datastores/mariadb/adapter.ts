import { UserError } from '../../model/errors';
import mysql from 'mysql2/promise';
import { ContentHash } from '../shared/fingerprint';
import type { Datastore } from '../../model/manifest';
import type { AdapterFor } from '../adapter';
import { mariadb } from './spec';
import { connectionArgs, quoteIdentifier, stagedDatabase } from '../shared/staged-database';
import { commandOutput } from '../shared/process';
import { resolveSecret } from '../shared/secrets';

type MariadbStore = Extract<Datastore, { kind: 'mariadb' }>;

/**
 * MariaDB/MySQL with mariadb-dump in one consistent transaction, restored with the
 * client into a staging database whose tables then replace the target's in a single
 * atomic RENAME TABLE. (Tables only: views and triggers cannot move across databases.)
 */
export const mariadbAdapter: AdapterFor<'mariadb'> = {
  kind: 'mariadb',

  async snapshot(store, ctx) {
    return dump(store, ctx.signal);
  },

  /** A global read lock, held on a connection of its own: it ends with the connection. */
  async freezeWrites(store, ctx) {
    const holder = await connectAdmin(store);
    try {
      const seconds = Math.max(1, Math.ceil((ctx.deadline - Date.now()) / 1000));
      await holder.query(`SET SESSION lock_wait_timeout = ${seconds}`);
      await holder.query('FLUSH TABLES WITH READ LOCK');
    } catch (err) {
      holder.destroy();
      throw err;
    }
    return {
      release: async () => {
        await holder.query('UNLOCK TABLES');
        await holder.end();
      },
    };
  },

  /**
   * mariadb-dump's own consistent-snapshot transaction is the point: the dump is started
   * during the freeze, and the freeze lasts until that transaction exists. The dump then
   * waits on its output pipe until the group streams it.
   */
  async snapshotPoint(store, ctx) {
    return withAdmin(store, async (watcher) => {
      const position = await replicationPosition(watcher);
      const [[{ id: mark }]] = await watcher.query<mysql.RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
      let exited = false;
      const stream = dump(store, ctx.signal, () => (exited = true));
      // An error before the group streams the dump is reported when it does.
      stream.on('error', () => {});
      await waitForDumpTransaction(watcher, store, Number(mark), () => exited, ctx);
      return {
        position,
        open: async () => stream,
        close: async () => void stream.destroy(),
      };
    });
  },

  async logPosition(store) {
    return withAdmin(store, replicationPosition);
  },

  restore: (store, data, ctx) => staged.restore(store, data, ctx),

  async fingerprint(store) {
    return withAdmin(store, async (admin) => {
      const sum = new ContentHash();
      for (const table of await tables(admin, store.database)) {
        const qualified = `${ident(store.database)}.${ident(table)}`;
        const [rows] = await admin.query<mysql.RowDataPacket[]>({
          sql: `SELECT * FROM ${qualified}`,
          rowsAsArray: true,
        });
        const lines = (rows as unknown as unknown[][]).map((r) => JSON.stringify(r)).sort();
        sum.add('table', table, ...lines);
      }
      return sum.hex();
    });
  },

  discard: (store, ctx) => staged.discard(store, ctx),

  holdsData: (store) => withAdmin(store, async (admin) => (await tables(admin, store.database)).length > 0),
  drop: (store) =>
    withAdmin(
      store,
      async (admin) => void (await admin.query(`DROP DATABASE IF EXISTS ${ident(store.database)}`)),
    ),
  async count(store, table) {
    const row = await this.firstRow!(store, `SELECT COUNT(*) FROM ${ident(store.database)}.${ident(table)}`);
    return Number(row?.[0]);
  },
  firstRow: (store, sql) =>
    withAdmin(store, async (admin) => {
      await admin.query(`USE ${ident(store.database)}`);
      const [rows] = await admin.query({ sql, rowsAsArray: true });
      return (rows as unknown[][])[0];
    }),
  retarget: mariadb.retarget,
  describe: (store) => `mariadb://${store.user}@${store.host}:${store.port}/${store.database}`,
};

/**
 * RENAME TABLE moves tables only: views, triggers, routines and events would stay behind
 * in the staging database and be dropped with it. Refuse rather than lose them silently.
 */
async function refuseObjectsThatCannotMove(admin: mysql.Connection, target: string, staging: string) {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(
    `SELECT 'view' AS kind, table_name AS name FROM information_schema.views WHERE table_schema = ?
     UNION ALL SELECT 'trigger', trigger_name FROM information_schema.triggers WHERE trigger_schema = ?
     UNION ALL SELECT LOWER(routine_type), routine_name FROM information_schema.routines WHERE routine_schema = ?
     UNION ALL SELECT 'event', event_name FROM information_schema.events WHERE event_schema = ?`,
    [staging, staging, staging, staging],
  );
  if (rows.length === 0) return;
  const objects = rows.map((r) => `${r.kind} ${r.name}`).join(', ');
  throw new UserError(
    `mariadb: the snapshot for ${target} holds ${objects}; Lazarus restores MariaDB tables atomically but cannot yet move ` +
      'views, triggers, routines or events, so the restore was refused and the target left unchanged',
  );
}

async function swapTables(admin: mysql.Connection, target: string, staging: string, setAside: string) {
  await admin.query(`CREATE DATABASE IF NOT EXISTS ${ident(target)}`);
  await admin.query(`DROP DATABASE IF EXISTS ${ident(setAside)}`);
  await admin.query(`CREATE DATABASE ${ident(setAside)}`);
  const renames = [
    ...(await tables(admin, target)).map(
      (t) => `${ident(target)}.${ident(t)} TO ${ident(setAside)}.${ident(t)}`,
    ),
    ...(await tables(admin, staging)).map(
      (t) => `${ident(staging)}.${ident(t)} TO ${ident(target)}.${ident(t)}`,
    ),
  ];
  if (renames.length > 0) await admin.query(`RENAME TABLE ${renames.join(', ')}`);
  await admin.query(`DROP DATABASE ${ident(setAside)}`);
  await admin.query(`DROP DATABASE ${ident(staging)}`);
}

async function tables(admin: mysql.Connection, database: string): Promise<string[]> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name`,
    [database],
  );
  return rows.map((r) => String(r.name));
}

function dump(store: MariadbStore, signal: AbortSignal, onExit?: () => void) {
  return commandOutput({
    cmd: 'mariadb-dump',
    args: [
      ...connectionArgs(store, '--user'),
      '--single-transaction',
      '--routines',
      '--events',
      '--hex-blob',
      '--skip-dump-date',
      store.database,
    ],
    env: passwordEnv(store),
    signal,
    onExit,
  });
}

/** The binlog file and offset when binary logging is on, and the GTID position. */
async function replicationPosition(admin: mysql.Connection): Promise<string> {
  const [[vars]] = await admin.query<mysql.RowDataPacket[]>(
    'SELECT @@log_bin AS logBin, @@gtid_binlog_pos AS gtid',
  );
  if (!Number(vars.logBin)) return 'binlog off';
  const [[status]] = await admin.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
  return `binlog ${status.File}:${status.Position}, gtid ${vars.gtid || 'none'}`;
}

/**
 * The dump's transaction: a connection opened after `mark`, by the same user on the same
 * database, that has an InnoDB transaction. (A dump of a tiny database may finish first.)
 */
async function waitForDumpTransaction(
  watcher: mysql.Connection,
  store: MariadbStore,
  mark: number,
  exited: () => boolean,
  ctx: { deadline: number; signal: AbortSignal },
): Promise<void> {
  while (!exited()) {
    const [rows] = await watcher.query<mysql.RowDataPacket[]>(
      `SELECT t.trx_mysql_thread_id FROM information_schema.INNODB_TRX t
       JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
       WHERE p.ID > ? AND p.USER = ? AND p.DB = ?`,
      [mark, store.user, store.database],
    );
    if (rows.length > 0) return;
    ctx.signal.throwIfAborted();
    if (Date.now() > ctx.deadline)
      throw new Error('mariadb-dump did not start its transaction within the freeze');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function connectAdmin(store: MariadbStore): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: store.host,
    port: store.port,
    user: store.user,
    password: resolveSecret(store.password),
  });
}

function passwordEnv(store: MariadbStore): Record<string, string | undefined> {
  return { MYSQL_PWD: resolveSecret(store.password) };
}

const ident = (name: string) => quoteIdentifier(name, '`');

/** MariaDB's part of the staged restore: the mariadb client, and one RENAME TABLE of every table. */
const staged = stagedDatabase<MariadbStore, mysql.Connection>({
  connectAdmin,
  closeAdmin: (admin) => admin.end(),
  execute: (admin, sql) => admin.query(sql),
  ident,
  // RENAME TABLE swaps atomically: a set-aside left behind only holds the replaced tables.
  dropDatabase: async (admin, name) => void (await admin.query(`DROP DATABASE IF EXISTS ${ident(name)}`)),
  loadCommand: (store, database) => ({
    cmd: 'mariadb',
    args: [...connectionArgs(store, '--user'), database],
  }),
  toolEnv: passwordEnv,
  async swap(admin, store, staging, setAside) {
    await refuseObjectsThatCannotMove(admin, store.database, staging);
    await swapTables(admin, store.database, staging, setAside);
  },
});
const { withAdmin } = staged;
