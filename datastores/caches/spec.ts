/**
 * Caches: memcached, and Redis used only as a cache. A cache holds nothing to back up;
 * what it holds is derived from the stores it fronts, so after those are restored in
 * place it is flushed, or the application would serve what the restore just undid. A
 * cache service names what it fronts in `depends_on`: it comes after them in the restore
 * order. Pure, without Node built-ins: workflows and the manifest schema import it.
 */
import { z } from 'zod';
import { secretRefSchema } from '../../model/secret-ref';
import type { EngineHint } from '../kind';
import { portSchema } from '../kind';

export const memcachedDefaults = { port: 11211 };
const redisCacheDefaults = { port: 6379 };

export const cacheSchema = z.discriminatedUnion(
  'engine',
  [
    z.strictObject({
      engine: z.literal('memcached'),
      host: z.string().default('127.0.0.1'),
      port: portSchema.default(memcachedDefaults.port),
    }),
    z.strictObject({
      engine: z.literal('redis'),
      host: z.string().default('127.0.0.1'),
      port: portSchema.default(redisCacheDefaults.port),
      db: z.number().int().min(0).default(0).describe('The database index FLUSHDB empties'),
      password: secretRefSchema.optional(),
    }),
  ],
  { error: 'a cache is {engine: memcached} or {engine: redis}, with host and port' },
);
export type Cache = z.output<typeof cacheSchema>;
export type CacheEngine = Cache['engine'];

/** `memcached 10.0.0.5:11211`, `redis 127.0.0.1:6379/2`: where the cache is, for messages. */
export function describeCache(cache: Cache): string {
  const at = `${cache.engine} ${cache.host}:${cache.port}`;
  return cache.engine === 'redis' ? `${at}/${cache.db}` : at;
}

/** The engines discovery takes for caches whatever else it sees. */
export const cacheEngines: (EngineHint & { engine: CacheEngine })[] = [
  { engine: 'memcached', images: /(^|\/)memcached$/, ports: [memcachedDefaults.port] },
];

/** A discovered cache's manifest entry, reached by its host name. */
export function cacheFromCompose(engine: CacheEngine, host: string): Record<string, unknown> {
  return { engine, host };
}

/**
 * Whether a Redis server runs as a cache: started to evict keys (`maxmemory-policy
 * allkeys-lru`, `volatile-lfu`...) or to keep nothing on disk (`--save ""` with no
 * append-only file), or named as one (`cart-cache`, `redis-cache`).
 */
export function redisRunsAsCache(name: string, command: string): boolean {
  if (/(^|[-_])cache($|[-_])/.test(name)) return true;
  if (/maxmemory-policy[\s=]+(allkeys|volatile)-(lru|lfu|random)/.test(command)) return true;
  const keepsNothing = /--save\s+(""|''|\s*$)/.test(command) && !/--appendonly\s+yes/.test(command);
  return keepsNothing;
}
