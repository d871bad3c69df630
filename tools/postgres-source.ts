/**
 * A throwaway PostgreSQL source configured for capture (tests and the demo): initdb into a
 * directory of its own, wal_level replica, commit timestamps on (to check a replay row by
 * row), a bounded slot retention and a replication line in pg_hba.conf, on a free port.
 * `unprepared`: the same server without what capture needs, for preflight to name.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { PostgresStore } from '../datastores/postgres/capture/connection';
import { PostgresServer, query, waitForQueries } from '../datastores/postgres/capture/scratch';
import { ownDirectory, pgProgram, serverUser, type RunAs } from '../datastores/postgres/capture/tools';
import { freePort } from './local-server';

export interface PostgresSource {
  store: PostgresStore;
  port: number;
  dataDir: string;
  server: PostgresServer;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
  /** SIGKILL to the postmaster. */
  kill(): Promise<void>;
  /** Starts it again (after a kill or a stop of `server`), on the same port and directory. */
  restart(): Promise<void>;
}

export interface SourceOptions {
  /** A directory of the source's own (created; removed by stop). */
  dir: string;
  database?: string;
  unprepared?: boolean;
}

const PREPARED = {
  wal_level: 'replica',
  track_commit_timestamp: 'on',
  max_wal_senders: '10',
  max_replication_slots: '10',
  max_slot_wal_keep_size: '1GB',
  archive_mode: 'off',
};
const UNPREPARED = { wal_level: 'minimal', max_wal_senders: '0', max_replication_slots: '0' };

const HBA_LOCAL = 'local all all trust\nhost all all 127.0.0.1/32 trust\n';
const HBA_REPLICATION = 'host replication all 127.0.0.1/32 trust\n';

export async function startPostgresSource(options: SourceOptions): Promise<PostgresSource> {
  const runAs = serverUser();
  const dataDir = path.join(options.dir, 'data');
  await fs.rm(options.dir, { recursive: true, force: true });
  await ownDirectory(options.dir, runAs, 0o755);
  await initdb(dataDir, runAs);
  await fs.writeFile(
    path.join(dataDir, 'pg_hba.conf'),
    HBA_LOCAL + (options.unprepared ? '' : HBA_REPLICATION),
  );
  // In the cluster's own configuration (as ALTER SYSTEM would put them), not on the command
  // line: a base carries them, so a restore of this source (a cut-over) keeps them.
  const settings = Object.entries(options.unprepared ? UNPREPARED : PREPARED).map(
    ([k, v]) => `${k} = '${v}'\n`,
  );
  await fs.appendFile(path.join(dataDir, 'postgresql.auto.conf'), settings.join(''));
  const port = await freePort();
  const server = new PostgresServer({
    dataDir,
    port,
    logFile: path.join(options.dir, 'server.log'),
    settings: { log_destination: 'stderr', logging_collector: 'off' },
    runAs,
  });
  const store: PostgresStore = {
    kind: 'postgres',
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: options.database ?? 'lazarus',
  };
  const restart = async () => {
    await server.start();
    await waitForQueries({ ...store, database: 'postgres' }, server);
  };
  await restart();
  await query({ ...store, database: 'postgres' }, `CREATE DATABASE "${store.database}"`);
  return {
    store,
    port,
    dataDir,
    server,
    restart,
    kill: () => server.kill(),
    stop: async () => {
      await server.stop();
      await fs.rm(options.dir, { recursive: true, force: true });
    },
  };
}

function initdb(dataDir: string, runAs: RunAs | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(pgProgram('initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(runAs ?? {}),
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`initdb exited with code ${code}: ${stderr.trim()}`)),
    );
  });
}
