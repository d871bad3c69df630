/** What every throwaway redis-server Lazarus starts shares: its settings, and the wait for it to answer. */
import { setTimeout as sleep } from 'node:timers/promises';
import Redis, { type RedisOptions } from 'ioredis';

/**
 * A server that keeps nothing on disk of its own (no RDB saves, no AOF) and has room for
 * any database index a store names: a group snapshot's fork, a replay's scratch server.
 */
export const THROWAWAY_SETTINGS = ['--save', '', '--appendonly', 'no', '--databases', '256'];

/**
 * Resolves once the server at `where` (a port or a Unix socket) answers PING; rejects when
 * `exited()` says the process is gone, or after `attempts` tries `pauseMs` apart.
 */
export async function untilAnswering(
  where: Pick<RedisOptions, 'port' | 'host' | 'path'>,
  { attempts, pauseMs, exited }: { attempts: number; pauseMs: number; exited?: () => string | undefined },
): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const gone = exited?.();
    if (gone) throw new Error(gone);
    const probe = new Redis({
      ...where,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => {});
    try {
      await probe.connect();
      // LOADING errors until the RDB is in memory.
      await probe.ping();
      return;
    } catch {
      await sleep(pauseMs);
    } finally {
      probe.disconnect();
    }
  }
  throw new Error(`redis-server did not answer within ${Math.round((attempts * pauseMs) / 1000)} s`);
}
