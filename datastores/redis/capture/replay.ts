/**
 * A replay: a scratch redis-server becomes the replica of a stand-in master (feeder.ts)
 * that serves the base and the stream cut at the target; the offset the replica reached
 * is read from it (INFO replication), then it is detached (REPLICAOF NO ONE) and handed
 * over. The scratch server only ever talks to the feeder, never to the source.
 */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import type { Datastore } from '../../../model/manifest';
import type { Recovered, ReplayInput } from '../../capture';
import { baseOnDisk } from '../../shared/base-file';
import { startFeeder } from './feeder';
import { infoField } from './head';
import { offsetPoint } from './points';
import { readRdbPoint } from './rdb';
import { startRedisProcess } from './scratch';
import type { RedisProcess } from './scratch';
import { chainFrom, piecesTo, resolveCut } from './target';

type RedisStore = Extract<Datastore, { kind: 'redis' }>;

/** How long the replica may go without progress before the replay gives up. */
const STALL_MS = 30_000;

export async function replay(input: ReplayInput<RedisStore>): Promise<Recovered<RedisStore>> {
  const rdbFile = await baseOnDisk(input, path.join(input.workDir, 'base.rdb'));
  const base = await readRdbPoint(rdbFile);
  const chain = chainFrom(base, input.logs, input.logDir);
  const cut = await resolveCut(chain, input.target);
  const scratch = await startRedisProcess({ dir: path.join(input.workDir, 'scratch') });
  const stop = async () => {
    await scratch.stop();
    await fs.rm(input.workDir, { recursive: true, force: true });
  };
  try {
    const feeder = await startFeeder({
      rdbFile,
      replid: base.replid,
      baseOffset: base.offset,
      pieces: piecesTo(chain, cut.offset),
    });
    try {
      const reached = await replicateTo(scratch, feeder.port, cut.offset, input.signal, feeder.sent);
      if (reached !== cut.offset) {
        throw new Error(
          `redis: the replay stopped at offset ${reached}, short of the target's ${cut.offset}: the captured log is incomplete or damaged`,
        );
      }
    } finally {
      await feeder.close();
    }
    const store: RedisStore = { ...input.store, host: '127.0.0.1', port: scratch.port, password: undefined };
    return {
      store,
      reached: offsetPoint(base.replid, cut.offset, cut.time ? Date.parse(cut.time) : undefined),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Makes the scratch server a replica of the feeder, waits for `target`, detaches it; the offset it holds then. */
async function replicateTo(
  scratch: RedisProcess,
  feederPort: number,
  target: number,
  signal: AbortSignal,
  sent: Promise<void>,
): Promise<number> {
  const redis = new Redis({
    host: '127.0.0.1',
    port: scratch.port,
    lazyConnect: true,
    maxRetriesPerRequest: 2,
  });
  await redis.connect();
  try {
    let failure: unknown;
    sent.catch((err: unknown) => (failure = err));
    await redis.replicaof('127.0.0.1', feederPort);
    let offset = -1;
    let progressAt = Date.now();
    for (;;) {
      signal.throwIfAborted();
      if (failure) throw failure;
      const info = await redis.info('replication');
      const now = Number(infoField(info, 'slave_repl_offset') ?? -1);
      if (infoField(info, 'master_link_status') === 'up' && now >= target) break;
      // Loading the base moves no offset: it is progress all the same.
      if (now !== offset || infoField(info, 'master_sync_in_progress') === '1')
        [offset, progressAt] = [now, Date.now()];
      if (Date.now() - progressAt > STALL_MS) break;
      await sleep(50);
    }
    await redis.replicaof('NO', 'ONE');
    // Promoted, the server keeps the offset it had applied as its own.
    return Number(infoField(await redis.info('replication'), 'master_repl_offset'));
  } finally {
    redis.disconnect();
  }
}
