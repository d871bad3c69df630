/**
 * What capture needs of a MariaDB source (pitr.md section 4), read from the server and
 * never changed: each missing setting with what was found, what is needed and the fix.
 */
import type mysql from 'mysql2/promise';
import type { Requirement } from '../../capture';
import { type MariadbStore, queryRow, withServer } from './server';

/** How long capture may be down before the source purges a binlog it has not streamed. */
export const TOLERATED_OUTAGE_SECONDS = 24 * 3600;

/** Where a setting is made to last: a SET GLOBAL is lost at the next restart. */
const inCnf = 'in the [mariadbd] section of my.cnf';
const restart = `${inCnf}, then restart the server`;

interface Setting {
  setting: string;
  /** The server variable it reads. */
  variable: string;
  ok: (value: string) => boolean;
  needed: string;
  fix: string;
}

const settings: Setting[] = [
  {
    setting: 'log_bin',
    variable: 'log_bin',
    ok: (v) => v === '1' || v === 'ON',
    needed: 'ON',
    fix: `set log-bin=mdb-bin ${restart} (log_bin cannot be changed while it runs)`,
  },
  {
    setting: 'server_id',
    variable: 'server_id',
    ok: (v) => Number(v) > 0,
    needed: 'a non-zero id unique among the servers that share a binlog stream',
    fix: `set server-id=<n> ${restart}`,
  },
  {
    setting: 'binlog_format',
    variable: 'binlog_format',
    ok: (v) => v === 'ROW',
    needed: 'ROW',
    fix: `SET GLOBAL binlog_format = 'ROW'; and binlog-format=ROW ${inCnf}`,
  },
  {
    setting: 'binlog_row_image',
    variable: 'binlog_row_image',
    ok: (v) => v === 'FULL',
    needed: 'FULL',
    fix: `SET GLOBAL binlog_row_image = 'FULL'; and binlog-row-image=FULL ${inCnf}`,
  },
  {
    setting: 'gtid_strict_mode',
    variable: 'gtid_strict_mode',
    ok: (v) => v === '1' || v === 'ON',
    needed: 'ON',
    fix: `SET GLOBAL gtid_strict_mode = ON; and gtid-strict-mode=1 ${inCnf}`,
  },
  {
    setting: 'sync_binlog',
    variable: 'sync_binlog',
    ok: (v) => v === '1',
    needed:
      '1 (each commit on disk before it is acknowledged: what a crash loses is then only what capture had not received)',
    fix: `SET GLOBAL sync_binlog = 1; and sync-binlog=1 ${inCnf}`,
  },
  {
    setting: 'binlog_expire_logs_seconds',
    variable: 'binlog_expire_logs_seconds',
    ok: (v) => Number(v) === 0 || Number(v) >= TOLERATED_OUTAGE_SECONDS,
    needed: `0 (never) or at least ${TOLERATED_OUTAGE_SECONDS} (the capture outage tolerated)`,
    fix: `SET GLOBAL binlog_expire_logs_seconds = ${TOLERATED_OUTAGE_SECONDS}; and binlog-expire-logs-seconds=${TOLERATED_OUTAGE_SECONDS} ${inCnf}`,
  },
];

/** Privileges: streaming the binlog, reading its position, the base's read lock. */
const privileges = ['REPLICATION SLAVE', 'BINLOG MONITOR', 'RELOAD', 'SELECT'];

export function preflight(store: MariadbStore): Promise<Requirement[]> {
  return withServer(store, async (server) => [
    ...(await missingSettings(server)),
    ...(await missingPrivileges(server, store)),
  ]);
}

async function missingSettings(server: mysql.Connection): Promise<Requirement[]> {
  const row = (await queryRow(
    server,
    `SELECT ${settings.map((s) => `@@GLOBAL.${s.variable} AS ${s.variable}`).join(', ')}`,
  ))!;
  return settings
    .map((s) => ({ s, found: String(row[s.variable]) }))
    .filter(({ s, found }) => !s.ok(found))
    .map(({ s, found }) => ({ setting: s.setting, found, needed: s.needed, fix: s.fix }));
}

async function missingPrivileges(server: mysql.Connection, store: MariadbStore): Promise<Requirement[]> {
  const [rows] = await server.query<mysql.RowDataPacket[]>('SHOW GRANTS FOR CURRENT_USER()');
  const grants = rows.map((r) => String(Object.values(r)[0])).filter((g) => /\bON \*\.\*/.test(g));
  const has = (privilege: string) =>
    grants.some((g) => /GRANT ALL PRIVILEGES/.test(g) || g.includes(privilege));
  const missing = privileges.filter((p) => !has(p));
  if (missing.length === 0) return [];
  return [
    {
      setting: 'privileges',
      found: grants.join('; ') || 'no global privileges',
      needed: missing.join(', ') + ' ON *.*',
      fix: `GRANT ${missing.join(', ')} ON *.* TO ${store.user}@<host>;`,
    },
  ];
}
