/**
 * Caches: flushed after the stores they front were restored. A flush of an already empty
 * cache changes nothing, so a retried attempt is harmless.
 */
import type { Cache } from '../datastores/caches/spec';
import type { FeatureDeps } from './deps';

export function cacheActivities({ flushCache }: Pick<FeatureDeps, 'flushCache'>) {
  return {
    /** Empties a cache whose stores were restored in place. */
    async flushCache(input: { service: string; cache: Cache }): Promise<void> {
      await flushCache(input.cache);
    },
  };
}
