/**
 * A throwaway Redis source configured for continuous capture, for tests and the demo: a
 * 64 MiB backlog, no diskless-sync delay (a base starts at once), an RDB saved on shutdown
 * (so a restart keeps the replication history: psync2 continues it under a new id).
 * `unprepared`: the defaults instead, for preflight to find fault with.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Datastore } from '../model/manifest';
import { startRedisProcess } from '../datastores/redis/capture/scratch';

type RedisStore = Extract<Datastore, { kind: 'redis' }>;

export interface RedisSource {
  store: RedisStore;
  port: number;
  dir: string;
  /** SHUTDOWN: saves the RDB, so a restart continues the replication history. */
  stop(): Promise<void>;
  /** SIGKILL: a crash; a restart then begins a new history. */
  kill(): Promise<void>;
  restart(): Promise<void>;
  /** Stops it (if running) and removes its directory. */
  remove(): Promise<void>;
}

const PREPARED = ['--repl-backlog-size', '64mb', '--repl-diskless-sync-delay', '0', '--save', '3600 1'];
/** What a stock server has, with a backlog too small to outlast an outage and a replica buffer limit that drops it. */
const UNPREPARED = [
  '--repl-backlog-size',
  '1mb',
  '--repl-backlog-ttl',
  '60',
  '--client-output-buffer-limit',
  'replica 8mb 4mb 60',
  // redis-server joins the words after --user into one ACL rule line.
  '--user',
  'default',
  'on',
  'nopass',
  '~*',
  '&*',
  '+@all',
  '-psync',
  '-sync',
];

export async function startRedisSource(
  options: { unprepared?: boolean; args?: string[] } = {},
): Promise<RedisSource> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lazarus-redis-source-'));
  const server = await startRedisProcess({
    dir,
    args: [...(options.unprepared ? UNPREPARED : PREPARED), ...(options.args ?? [])],
  });
  let running = true;
  const store: RedisStore = { kind: 'redis', host: '127.0.0.1', port: server.port, db: 0, staging_db: 15 };
  return {
    store,
    port: server.port,
    dir,
    stop: async () => {
      await server.stop();
      running = false;
    },
    kill: async () => {
      await server.kill();
      running = false;
    },
    restart: async () => {
      await server.restart();
      running = true;
    },
    remove: async () => {
      if (running) await server.kill();
      running = false;
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
