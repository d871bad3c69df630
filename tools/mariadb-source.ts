/**
 * A throwaway MariaDB configured as a capture source (binary log on, ROW, full row
 * images, strict GTIDs, a sync per commit), for the PITR tests and the demo. Pass
 * `prepared: false` for a server without any of that (preflight's counter-example).
 */
import mysql from 'mysql2/promise';
import { startLocalServer, type LocalServer } from '../datastores/mariadb/capture/scratch';
import type { StoreOf } from '../datastores/registry';

export interface MariadbSource extends LocalServer {
  store: StoreOf<'mariadb'>;
}

export const captureSettings = [
  'log-bin=mdb-bin',
  'binlog-format=ROW',
  'binlog-row-image=FULL',
  'gtid-strict-mode=1',
  'sync-binlog=1',
  'binlog-expire-logs-seconds=604800',
];

export async function startMariadbSource(options: {
  dir: string;
  database: string;
  serverId?: number;
  prepared?: boolean;
}): Promise<MariadbSource> {
  const server = await startLocalServer({
    dir: options.dir,
    serverId: options.serverId ?? 42,
    settings: options.prepared === false ? [] : captureSettings,
  });
  const store: StoreOf<'mariadb'> = {
    kind: 'mariadb',
    host: '127.0.0.1',
    port: server.port,
    user: 'root',
    database: options.database,
  };
  const admin = await mysql.createConnection({ host: store.host, port: store.port, user: store.user });
  await admin.query(`CREATE DATABASE IF NOT EXISTS \`${options.database}\``);
  await admin.end();
  return { ...server, store };
}
