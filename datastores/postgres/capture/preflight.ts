/**
 * What capture needs of a source, read from it (never changed): each missing requirement
 * with what was found, what is needed and the exact change that supplies it.
 */
import type { Client } from 'pg';
import type { Requirement } from '../../capture';
import { identifySystem, withSql, type PostgresStore } from './connection';
import { binariesMajor, binDir } from './tools';

interface Settings {
  wal_level: string;
  max_wal_senders: number;
  senders_in_use: number;
  max_replication_slots: number;
  slots_in_use: number;
  max_slot_wal_keep_size: string;
  wal_segment_size: string;
  major: number;
  can_replicate: boolean;
  can_mark: boolean;
  in_recovery: boolean;
  client_addr: string | null;
}

const SETTINGS_SQL = `SELECT current_setting('wal_level') AS wal_level,
  current_setting('max_wal_senders')::int AS max_wal_senders,
  (SELECT count(*) FROM pg_stat_replication)::int AS senders_in_use,
  current_setting('max_replication_slots')::int AS max_replication_slots,
  (SELECT count(*) FROM pg_replication_slots)::int AS slots_in_use,
  current_setting('max_slot_wal_keep_size') AS max_slot_wal_keep_size,
  current_setting('wal_segment_size') AS wal_segment_size,
  current_setting('server_version_num')::int / 10000 AS major,
  (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) AS can_replicate,
  has_function_privilege('pg_create_restore_point(text)', 'execute') AS can_mark,
  pg_is_in_recovery() AS in_recovery,
  host(inet_client_addr()) AS client_addr`;

type Check = (s: Settings, store: PostgresStore) => Requirement | undefined;

const restart = 'then restart the server';
const reload = 'then SELECT pg_reload_conf();';

const checks: Check[] = [
  (s) =>
    s.wal_level === 'minimal'
      ? {
          setting: 'wal_level',
          found: s.wal_level,
          needed: 'replica (or logical)',
          fix: `ALTER SYSTEM SET wal_level = replica; ${restart}`,
        }
      : undefined,
  (s) =>
    s.max_wal_senders - s.senders_in_use < 2
      ? {
          setting: 'max_wal_senders',
          found: `${s.max_wal_senders} (${s.senders_in_use} in use)`,
          needed: `${s.senders_in_use + 2}: one for pg_receivewal, one for pg_basebackup`,
          fix: `ALTER SYSTEM SET max_wal_senders = ${s.senders_in_use + 2}; ${restart}`,
        }
      : undefined,
  (s) =>
    s.max_replication_slots - s.slots_in_use < 1
      ? {
          setting: 'max_replication_slots',
          found: `${s.max_replication_slots} (${s.slots_in_use} in use)`,
          needed: `${s.slots_in_use + 1}: a free one for the stream's slot (unless it exists already)`,
          fix: `ALTER SYSTEM SET max_replication_slots = ${s.slots_in_use + 1}; ${restart}`,
        }
      : undefined,
  (s) =>
    s.max_slot_wal_keep_size === '-1'
      ? {
          setting: 'max_slot_wal_keep_size',
          found: '-1 (unlimited)',
          needed: 'a bound larger than the WAL written during the longest capture outage to tolerate',
          fix: `ALTER SYSTEM SET max_slot_wal_keep_size = '10GB'; ${reload} (a slot whose capture is down keeps WAL without bound otherwise, until the source's disk is full)`,
        }
      : undefined,
  (s) =>
    s.wal_segment_size !== '16MB'
      ? {
          setting: 'wal_segment_size',
          found: s.wal_segment_size,
          needed: '16MB (the only segment size capture reads)',
          fix: 'initdb --wal-segsize=16 (a cluster keeps the size it was created with)',
        }
      : undefined,
  (s, store) =>
    !s.can_replicate
      ? {
          setting: 'role REPLICATION',
          found: `${store.user} has neither REPLICATION nor SUPERUSER`,
          needed: 'REPLICATION (pg_receivewal and pg_basebackup open replication connections)',
          fix: `ALTER ROLE ${store.user} REPLICATION;`,
        }
      : undefined,
  (s, store) =>
    !s.can_mark
      ? {
          setting: 'pg_create_restore_point',
          found: `${store.user} may not execute it`,
          needed: 'EXECUTE, for named marks (group checkpoints)',
          fix: `GRANT EXECUTE ON FUNCTION pg_create_restore_point(text) TO ${store.user};`,
        }
      : undefined,
  (s) =>
    s.in_recovery
      ? {
          setting: 'primary',
          found: 'the server is a standby (in recovery)',
          needed: 'the primary: marks and the head are read there',
          fix: 'point the store at the primary',
        }
      : undefined,
  (s) => {
    const found = binariesMajor(s.major);
    return found === s.major
      ? undefined
      : {
          setting: 'PostgreSQL programs on the worker',
          found: found ? `PostgreSQL ${found} in ${binDir(s.major) ?? 'the PATH'}` : 'none',
          needed: `PostgreSQL ${s.major}'s pg_receivewal, pg_basebackup, pg_waldump, postgres (a physical base replays only on its own major version)`,
          fix: `apt-get install postgresql-${s.major} on the worker, or set LAZARUS_PG_BIN to that version's bin directory`,
        };
  },
];

export async function preflight(store: PostgresStore): Promise<Requirement[]> {
  const settings = await withSql(
    store,
    async (client: Client) => (await client.query<Settings>(SETTINGS_SQL)).rows[0],
  );
  const missing = checks
    .map((check) => check(settings, store))
    .filter((r): r is Requirement => r !== undefined);
  const access = await replicationAccess(store, settings);
  return access ? [...missing, access] : missing;
}

/**
 * Opens a replication connection, as pg_receivewal will. A refusal for want of a free
 * walsender comes before pg_hba.conf is consulted: then its rules are read
 * (pg_hba_file_rules, when the user may) so that a missing line is named too.
 */
async function replicationAccess(store: PostgresStore, s: Settings): Promise<Requirement | undefined> {
  const refusal = await identifySystem(store).then(
    () => undefined,
    (err: Error) => err.message,
  );
  if (!refusal || refusal.includes('must be superuser or replication role')) return undefined; // the role, above
  if (refusal.includes('pg_hba.conf'))
    return hbaRequirement(store, s, `replication connection refused: ${refusal}`);
  if (refusal.includes('exceeds max_wal_senders')) {
    const rules = await withSql(store, (client) => client.query<HbaRule>(HBA_RULES_SQL)).then(
      (result) => result.rows,
      () => undefined, // not a superuser: the connection will tell, once a walsender is free
    );
    return rules && !allowsReplication(rules, store.user, s.client_addr)
      ? hbaRequirement(
          store,
          s,
          'no line of pg_hba.conf (pg_hba_file_rules) admits a replication connection from here',
        )
      : undefined;
  }
  return {
    setting: 'replication connection',
    found: `refused: ${refusal}`,
    needed: 'a physical replication connection, as pg_receivewal and pg_basebackup open',
    fix: "the server's message says what to change",
  };
}

function hbaRequirement(store: PostgresStore, s: Settings, found: string): Requirement {
  // The method the store logs in with now: a password, or none (trust).
  const method = store.password ? 'scram-sha-256' : 'trust';
  const line = s.client_addr
    ? `host replication ${store.user} ${s.client_addr}/${s.client_addr.includes(':') ? 128 : 32} ${method}`
    : `local replication ${store.user} ${method}`;
  return {
    setting: 'pg_hba.conf',
    found,
    needed: `a line allowing replication connections for ${store.user} from this worker ("all" does not match replication)`,
    fix: `add "${line}" to pg_hba.conf (before any line rejecting it), ${reload}`,
  };
}

interface HbaRule {
  type: string;
  database: string[];
  user_name: string[];
  address: string | null;
  netmask: string | null;
  auth_method: string;
}

const HBA_RULES_SQL =
  'SELECT type, database, user_name, address, netmask, auth_method FROM pg_hba_file_rules WHERE error IS NULL ORDER BY line_number';

/** pg_hba.conf's verdict: the first line matching a replication connection decides. */
function allowsReplication(rules: HbaRule[], user: string, clientAddr: string | null): boolean {
  const first = rules.find(
    (r) =>
      r.database.includes('replication') &&
      (r.user_name.includes('all') || r.user_name.includes(user)) &&
      (clientAddr === null ? r.type === 'local' : r.type.startsWith('host') && addressMatches(r, clientAddr)),
  );
  return !!first && first.auth_method !== 'reject';
}

function addressMatches(rule: HbaRule, clientAddr: string): boolean {
  if (!rule.address || ['all', 'samehost', 'samenet'].includes(rule.address)) return true;
  const v4 = (text: string) => {
    const parts = text.split('.').map(Number);
    return parts.length === 4 && parts.every((p) => p >= 0 && p < 256)
      ? parts.reduce((n, p) => n * 256 + p, 0)
      : undefined;
  };
  const [address, mask, client] = [v4(rule.address), v4(rule.netmask ?? ''), v4(clientAddr)];
  if (address === undefined || mask === undefined || client === undefined) return rule.address === clientAddr;
  return (address & mask) >>> 0 === (client & mask) >>> 0;
}
