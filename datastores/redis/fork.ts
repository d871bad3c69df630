/**
 * A Redis snapshot point from a fork: BGSAVE forks the server, and the child writes the
 * dataset as it stood at the fork. The RDB file is then loaded into a private, short-lived
 * redis-server, from which the usual SCAN + DUMP records are read. Needs the server's
 * data directory to be readable by the worker (the same host, or a shared volume).
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import type { FreezeContext, SnapshotPoint } from '../adapter';
import { spoolFile } from '../shared/spooled-point';
import { THROWAWAY_SETTINGS, untilAnswering } from './throwaway';

/** Called during the freeze: the fork (and so the point) happens before BGSAVE returns. */
export async function forkPoint(
  withLive: <T>(work: (live: Redis) => Promise<T>) => Promise<T>,
  db: number,
  ctx: FreezeContext,
  dumpKeys: (redis: Redis) => AsyncGenerator<Buffer>,
): Promise<SnapshotPoint> {
  const { position, rdbFile } = await withLive(async (live) => {
    const [, dir] = (await live.config('GET', 'dir')) as string[];
    const [, name] = (await live.config('GET', 'dbfilename')) as string[];
    const replication = String(await live.info('replication'));
    await live.bgsave();
    return { position: replicationOffset(replication), rdbFile: path.join(dir, name) };
  });
  const copy = spoolFile(ctx, 'redis.rdb');
  let server: TemporaryServer | undefined;
  const close = async () => {
    server?.stop();
    await fs.rm(copy, { force: true });
  };
  return {
    position,
    async open() {
      await withLive((live) => waitForSave(live, ctx.signal));
      await fs.mkdir(path.dirname(copy), { recursive: true });
      await fs.copyFile(rdbFile, copy);
      server = await TemporaryServer.start(copy, ctx.stagingId);
      const reader = server.client(db);
      await reader.connect();
      const stream = Readable.from(dumpKeys(reader), { objectMode: false });
      stream.on('close', () => void close());
      return stream;
    },
    close,
  };
}

async function waitForSave(live: Redis, signal: AbortSignal): Promise<void> {
  for (;;) {
    signal.throwIfAborted();
    const info = String(await live.info('persistence'));
    if (infoField(info, 'rdb_bgsave_in_progress') === '0') {
      const status = infoField(info, 'rdb_last_bgsave_status');
      if (status !== 'ok') throw new Error(`redis: BGSAVE failed (rdb_last_bgsave_status:${status})`);
      return;
    }
    await sleep(20);
  }
}

/** "replication offset 1234": how far the server's write stream has gone. */
export function replicationOffset(replicationInfo: string): string {
  return `replication offset ${infoField(replicationInfo, 'master_repl_offset')}`;
}

function infoField(info: string, field: string): string {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? 'unknown';
}

/** A redis-server of our own on a Unix socket, serving one RDB file, gone when stopped. */
class TemporaryServer {
  private constructor(
    private readonly process: ReturnType<typeof spawn>,
    private readonly socket: string,
  ) {}

  static async start(rdb: string, id: string): Promise<TemporaryServer> {
    // Unix socket paths are limited to about 100 bytes: keep it short, in the system's tmp.
    const socket = path.join(os.tmpdir(), `lazarus-redis-${id}.sock`);
    await fs.rm(socket, { force: true });
    const child = spawn(
      'redis-server',
      [
        '--port',
        '0',
        '--unixsocket',
        socket,
        '--dir',
        path.dirname(rdb),
        '--dbfilename',
        path.basename(rdb),
        ...THROWAWAY_SETTINGS,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const exited = new Promise<never>((_, reject) => {
      child.on('error', (err) =>
        reject(new Error(`redis-server could not start on this worker: ${err.message}`)),
      );
      child.on('exit', (code) => reject(new Error(`redis-server exited with code ${code} loading ${rdb}`)));
    });
    const server = new TemporaryServer(child, socket);
    await Promise.race([server.waitUntilReady(), exited]).catch((err: unknown) => {
      server.stop();
      throw err;
    });
    return server;
  }

  client(db: number): Redis {
    return new Redis({ path: this.socket, db, lazyConnect: true, maxRetriesPerRequest: 2 });
  }

  stop(): void {
    this.process.kill('SIGKILL');
    void fs.rm(this.socket, { force: true });
  }

  private waitUntilReady(): Promise<void> {
    return untilAnswering({ path: this.socket }, { attempts: 500, pauseMs: 20 });
  }
}
