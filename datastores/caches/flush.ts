/**
 * Empties a cache after the stores it fronts were restored: memcached's `flush_all`,
 * Redis's FLUSHDB on the cache's database. Flushing an empty cache is harmless, so a
 * retried flush is too.
 */
import memjs from 'memjs';
import { UserError } from '../../model/errors';
import { withRedis } from '../redis/adapter';
import { type Cache, describeCache } from './spec';

export async function flushCache(cache: Cache): Promise<void> {
  try {
    if (cache.engine === 'memcached') await flushMemcached(cache.host, cache.port);
    else await withRedis(cache, cache.db, (redis) => redis.flushdb());
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new Error(
      `cannot flush the cache at ${describeCache(cache)}: ${(err as Error).message}; ` +
        'the stores it fronts are restored, but it may serve stale entries until it is flushed',
    );
  }
}

async function flushMemcached(host: string, port: number): Promise<void> {
  const client = memjs.Client.create(`${host}:${port}`, { retries: 1, timeout: 5, conntimeout: 5 });
  try {
    const results = await client.flush();
    const failed = Object.entries(results).find(([, ok]) => ok !== true);
    if (failed) throw new Error(`flush_all was not acknowledged by ${failed[0]}`);
  } finally {
    client.close();
  }
}
