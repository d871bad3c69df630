/**
 * Flushing real caches: a memcached the test starts, and a Redis database used as a
 * cache on this machine's Redis. The restore workflow's part (flushed after the store it
 * fronts, only when restored in place) is in test/unit/restore-workflow.test.ts.
 */
import memjs from 'memjs';
import { flushCache } from '../datastores/caches/flush';
import { type MemcachedServer, startMemcached } from '../tools/memcached-server';
import { redisClient } from './support/stores';

let memcached: MemcachedServer;
beforeAll(async () => {
  memcached = await startMemcached();
});
afterAll(() => memcached?.stop());

test('memcached: every entry is gone after the flush, and a second flush is harmless', async () => {
  const client = memjs.Client.create(`127.0.0.1:${memcached.port}`);
  try {
    for (let i = 0; i < 100; i++) await client.set(`product:${i}`, `price ${i}`, {});
    expect((await client.get('product:7')).value?.toString()).toBe('price 7');
    await flushCache({ engine: 'memcached', host: '127.0.0.1', port: memcached.port });
    expect((await client.get('product:7')).value).toBeNull();
    await flushCache({ engine: 'memcached', host: '127.0.0.1', port: memcached.port });
  } finally {
    client.close();
  }
});

test('Redis as a cache: only its own database is emptied', async () => {
  const cache = redisClient(8);
  const other = redisClient(9);
  try {
    await cache.set('session:1', 'x');
    await other.set('kept', 'y');
    await flushCache({ engine: 'redis', host: '127.0.0.1', port: 6379, db: 8 });
    expect(await cache.dbsize()).toBe(0);
    expect(await other.get('kept')).toBe('y');
  } finally {
    await other.del('kept');
    cache.disconnect();
    other.disconnect();
  }
});

test('an unreachable cache fails with where it is and what it means', async () => {
  const stopped = await startMemcached();
  await stopped.stop();
  await expect(flushCache({ engine: 'memcached', host: '127.0.0.1', port: stopped.port })).rejects.toThrow(
    new RegExp(`cannot flush the cache at memcached 127.0.0.1:${stopped.port}: .*may serve stale entries`),
  );
});
