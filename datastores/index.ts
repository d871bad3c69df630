import type { Datastore, DatastoreKind } from '../model/manifest';
import type { AdapterFor, DatastoreAdapter } from './adapter';
import { directoryAdapter } from './directory';
import { mariadbAdapter } from './mariadb';
import { postgresAdapter } from './postgres';
import { redisAdapter } from './redis';
import { sqliteAdapter } from './sqlite';

const adapters: { [K in DatastoreKind]: AdapterFor<K> } = {
  sqlite: sqliteAdapter,
  directory: directoryAdapter,
  postgres: postgresAdapter,
  mariadb: mariadbAdapter,
  redis: redisAdapter,
};

export function adapterFor<D extends Datastore>(store: D): DatastoreAdapter<D> {
  return adapters[store.kind] as unknown as DatastoreAdapter<D>;
}
