/**
 * A named point in the log. MariaDB has no named restore point, so the mark is a statement
 * the binlog keeps and that changes nothing: DROP TABLE IF EXISTS of a table that does not
 * exist, in the store's database (so a replay filtered to it sees the mark), under a name
 * no application uses. It gets a GTID of its own: the replay stops right after it.
 */
import type mysql from 'mysql2/promise';
import type { LogPoint } from '../../capture';
import { gtidInDomain, logPoint } from './points';
import { binlogHead, lineage, type MariadbStore, withServer } from './server';

export const markTable = (name: string) => `lazarus_mark$${name}`;

export function mark(store: MariadbStore, name: string): Promise<LogPoint & { lineage: string }> {
  if (!/^[A-Za-z0-9_]{1,48}$/.test(name))
    throw new Error(`mariadb: mark name ${JSON.stringify(name)} must be 1-48 letters, digits or _`);
  return withServer(store, async (server) => {
    const source = await lineage(server);
    await refuseExistingTable(server, store.database, markTable(name));
    // Unqualified, in the database: the binlog keeps the database as the statement's default one.
    await server.query(`USE \`${store.database.replaceAll('`', '``')}\``);
    await server.query(`DROP TABLE IF EXISTS \`${markTable(name)}\``);
    const [[{ gtid }]] = await server.query<mysql.RowDataPacket[]>('SELECT @@last_gtid AS gtid');
    // The head just after: at or after the mark (others may have committed since); the GTID is the mark's own.
    const at = (await binlogHead(server))!;
    return {
      ...logPoint(gtidInDomain(String(gtid), source.domain), at, new Date().toISOString()),
      lineage: source.lineage,
    };
  });
}

async function refuseExistingTable(server: mysql.Connection, database: string, table: string): Promise<void> {
  const [rows] = await server.query<mysql.RowDataPacket[]>(
    'SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?',
    [database, table],
  );
  if (rows.length > 0)
    throw new Error(
      `mariadb: a table ${database}.${table} exists: a mark of that name would drop it; choose another name`,
    );
}
