/** Connections to the source: SQL, the replication protocol, and the tools' arguments. */
import { Client, type ClientConfig } from 'pg';
import type { Datastore } from '../../../model/manifest';
import { resolveSecret } from '../../shared/secrets';
import { connectionArgs } from '../../shared/staged-database';

export type PostgresStore = Extract<Datastore, { kind: 'postgres' }>;

function clientConfig(store: PostgresStore) {
  return {
    host: store.host,
    port: store.port,
    user: store.user,
    password: resolveSecret(store.password),
    database: store.database,
    // A server that does not answer fails the call instead of hanging it.
    connectionTimeoutMillis: 10_000,
  };
}

async function withClient<T>(client: Client, use: (client: Client) => Promise<T>): Promise<T> {
  // A server going away between two queries (a replay's scratch server ending short) makes an
  // idle client emit 'error': without a listener that is an uncaught exception. The next query fails instead.
  client.on('error', () => {});
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export function withSql<T>(store: PostgresStore, use: (client: Client) => Promise<T>): Promise<T> {
  return withClient(new Client(clientConfig(store)), use);
}

/** A physical replication connection (IDENTIFY_SYSTEM, TIMELINE_HISTORY): what pg_receivewal opens. */
export function withReplication<T>(store: PostgresStore, use: (client: Client) => Promise<T>): Promise<T> {
  return withClient(new Client({ ...clientConfig(store), replication: 'true' } as ClientConfig), use);
}

/** The tools' connection arguments: never prompt for a password. */
export function toolArgs(store: PostgresStore): string[] {
  return [...connectionArgs(store, '--username'), '--no-password'];
}

export function toolEnv(store: PostgresStore): NodeJS.ProcessEnv {
  const password = resolveSecret(store.password);
  return { ...process.env, PGCONNECT_TIMEOUT: '10', ...(password ? { PGPASSWORD: password } : {}) };
}

/** The server's major version: the programs that read its WAL and base must be that version's. */
export async function serverMajor(store: PostgresStore): Promise<number> {
  return withSql(store, async (client) => {
    const { rows } = await client.query<{ major: number }>(
      "SELECT current_setting('server_version_num')::int / 10000 AS major",
    );
    return rows[0].major;
  });
}

/** The server's identity and where its WAL stands, by the replication protocol. */
export async function identifySystem(
  store: PostgresStore,
): Promise<{ systemId: string; timeline: number; flushLsn: string }> {
  return withReplication(store, async (client) => {
    const [row] = (await client.query('IDENTIFY_SYSTEM')).rows as Array<{
      systemid: string;
      timeline: number | string;
      xlogpos: string;
    }>;
    return { systemId: String(row.systemid), timeline: Number(row.timeline), flushLsn: row.xlogpos };
  });
}

/** The content of a timeline's history file, from the server (none for timeline 1). */
export async function timelineHistory(store: PostgresStore, timeline: number): Promise<string> {
  if (timeline <= 1) return '';
  return withReplication(store, async (client) => {
    const [row] = (await client.query(`TIMELINE_HISTORY ${timeline}`)).rows as Array<{
      content: string | Buffer;
    }>;
    return Buffer.isBuffer(row.content) ? row.content.toString('utf8') : String(row.content);
  });
}
