import { UserError } from '../model/errors';
import mysql from 'mysql2/promise';
import { ContentHash } from './fingerprint';
import type { Datastore } from '../model/manifest';
import type { AdapterFor } from './adapter';
import { stagingDatabases } from './names';
import { commandInput, commandOutput } from './process';
import { resolveSecret } from './secrets';

type MariadbStore = Extract<Datastore, { kind: 'mariadb' }>;

/**
 * MariaDB/MySQL with mariadb-dump in one consistent transaction, restored with the
 * client into a staging database whose tables then replace the target's in a single
 * atomic RENAME TABLE. (Tables only: views and triggers cannot move across databases.)
 */
export const mariadbAdapter: AdapterFor<'mariadb'> = {
  kind: 'mariadb',

  async snapshot(store, ctx) {
    return commandOutput({
      cmd: 'mariadb-dump',
      args: [
        ...connectionArgs(store),
        '--single-transaction',
        '--routines',
        '--events',
        '--hex-blob',
        '--skip-dump-date',
        store.database,
      ],
      env: passwordEnv(store),
      signal: ctx.signal,
    });
  },

  async restore(store, data, ctx) {
    const { staging, setAside } = stagingDatabases(store.database, ctx.stagingId);
    await this.discard(store, ctx);
    await withAdmin(store, (admin) => admin.query(`CREATE DATABASE ${ident(staging)}`));
    await commandInput(
      {
        cmd: 'mariadb',
        args: [...connectionArgs(store), staging],
        env: passwordEnv(store),
        signal: ctx.signal,
      },
      data,
    );
    await withAdmin(store, async (admin) => {
      await refuseObjectsThatCannotMove(admin, store.database, staging);
      await swapTables(admin, store.database, staging, setAside);
    });
  },

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

  async discard(store, ctx) {
    const { staging, setAside } = stagingDatabases(store.database, ctx.stagingId);
    await withAdmin(store, async (admin) => {
      // RENAME TABLE swaps atomically: a set-aside left behind only holds the replaced tables.
      await admin.query(`DROP DATABASE IF EXISTS ${ident(staging)}`);
      await admin.query(`DROP DATABASE IF EXISTS ${ident(setAside)}`);
    });
  },

  retarget: (store, target) => ({ ...store, database: target }),
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

async function withAdmin<T>(store: MariadbStore, work: (admin: mysql.Connection) => Promise<T>): Promise<T> {
  const admin = await mysql.createConnection({
    host: store.host,
    port: store.port,
    user: store.user,
    password: resolveSecret(store.password),
  });
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

function connectionArgs(store: MariadbStore): string[] {
  return ['--host', store.host, '--port', String(store.port), '--user', store.user];
}

function passwordEnv(store: MariadbStore): Record<string, string | undefined> {
  return { MYSQL_PWD: resolveSecret(store.password) };
}

function ident(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}
