/** The source server as capture reads it: one connection per question, closed after. */
import mysql from 'mysql2/promise';
import type { StoreOf } from '../../registry';
import { resolveSecret } from '../../shared/secrets';
import { connectionArgs } from '../../shared/staged-database';
import { type BinlogPos, gtidInDomain, lineageOf, logPoint } from './points';
import type { LogPoint } from '../../capture';

export type MariadbStore = StoreOf<'mariadb'>;

export async function withServer<T>(
  store: MariadbStore,
  work: (server: mysql.Connection) => Promise<T>,
): Promise<T> {
  const server = await mysql.createConnection({
    host: store.host,
    port: store.port,
    user: store.user,
    password: resolveSecret(store.password),
  });
  try {
    return await work(server);
  } finally {
    await server.end();
  }
}

export async function queryRow(
  server: mysql.Connection,
  sql: string,
): Promise<mysql.RowDataPacket | undefined> {
  const [rows] = await server.query<mysql.RowDataPacket[]>(sql);
  return rows[0];
}

/** The binlog file being written and the byte after its last event; undefined when binary logging is off. */
export async function binlogHead(server: mysql.Connection): Promise<BinlogPos | undefined> {
  const status = await queryRow(server, 'SHOW MASTER STATUS');
  return status ? { file: String(status.File), pos: Number(status.Position) } : undefined;
}

/** The source's lineage: its server id and the GTID domain it writes in. */
export async function lineage(server: mysql.Connection): Promise<{ lineage: string; domain: number }> {
  const row = (await queryRow(server, 'SELECT @@server_id AS server, @@gtid_domain_id AS domain'))!;
  return { lineage: lineageOf(Number(row.server), Number(row.domain)), domain: Number(row.domain) };
}

/** The log head now: the binlog position after the last event, with the GTID state there. */
export async function headPoint(server: mysql.Connection): Promise<LogPoint & { lineage: string }> {
  const { lineage: name, domain } = await lineage(server);
  const at = await binlogHead(server);
  if (!at) throw new Error('mariadb: binary logging is off on the source (log_bin): see preflight');
  // BINLOG_GTID_POS gives the GTID state at exactly that position, whatever was written since.
  const [[{ gtid }]] = await server.query<mysql.RowDataPacket[]>('SELECT BINLOG_GTID_POS(?, ?) AS gtid', [
    at.file,
    at.pos,
  ]);
  return {
    ...logPoint(gtidInDomain(String(gtid ?? ''), domain), at, new Date().toISOString()),
    lineage: name,
  };
}

/** The tools' password travels in the environment, never on a command line. */
export function toolEnv(store: MariadbStore): Record<string, string | undefined> {
  return { MYSQL_PWD: resolveSecret(store.password) };
}

export const toolConnection = (store: MariadbStore) => connectionArgs(store, '--user');
