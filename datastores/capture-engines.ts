/**
 * The capture engine of each kind whose spec declares `capture` (datastores/<kind>/capture/),
 * listed once; the worker's activities find them here.
 */
import type { Datastore, DatastoreKind, StoreOf } from './registry';
import type { CaptureEngine } from './capture';
import { mariadbCaptureEngine } from './mariadb/capture';
import { postgresCaptureEngine } from './postgres/capture';
import { redisCaptureEngine } from './redis/capture';

type CapturingKind = 'postgres' | 'mariadb' | 'redis';

const engines: { [K in CapturingKind]: CaptureEngine<StoreOf<K>> } = {
  postgres: postgresCaptureEngine,
  mariadb: mariadbCaptureEngine,
  redis: redisCaptureEngine,
};

/** The engine that streams this store's log; a UserError-worthy undefined for kinds without one. */
export function captureEngineFor<D extends Datastore>(store: D): CaptureEngine<D> | undefined {
  return (engines as Partial<Record<DatastoreKind, CaptureEngine>>)[store.kind] as
    CaptureEngine<D> | undefined;
}
