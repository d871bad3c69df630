/**
 * Continuous capture for Redis: the PSYNC replication stream of a master, captured raw
 * into the spool (RESP commands, offsets exact), a full resync's RDB as the base, and a
 * replay that replicates base + stream into a scratch server up to the target.
 * Times are receipt times (the stream has none): timeQuality 'receipt'.
 */
import type { CaptureEngine } from '../../capture';
import type { Datastore } from '../../../model/manifest';
import { takeBase } from './base';
import { head, mark } from './head';
import { preflight } from './preflight';
import { replay } from './replay';
import { startCapture } from './session';
import type { RedisCaptureSession } from './session';

type RedisStore = Extract<Datastore, { kind: 'redis' }>;

export { CaptureGapError } from './session';
export type { RedisCaptureSession } from './session';

export interface RedisCaptureEngine extends CaptureEngine<RedisStore> {
  capture(
    store: RedisStore,
    options: Parameters<CaptureEngine<RedisStore>['capture']>[1],
  ): Promise<RedisCaptureSession>;
}

/** A spool file is sealed once it holds this much: 16 MiB unless a test wants rotations sooner. */
export function createRedisCaptureEngine(options: { segmentBytes?: number } = {}): RedisCaptureEngine {
  const segmentBytes = options.segmentBytes ?? 16 * 1024 * 1024;
  return {
    kind: 'redis',
    preflight,
    head,
    takeBase: (store, { signal }) => takeBase(store, signal),
    capture: (store, captureOptions) => startCapture(store, captureOptions, segmentBytes),
    replay,
    mark,
  };
}

export const redisCaptureEngine = createRedisCaptureEngine();
