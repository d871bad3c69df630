import type { Datastore, DatastoreKind, Service } from '../model/manifest';
import type { AdapterFor, DatastoreAdapter } from './adapter';
import { d1Adapter } from './d1/adapter';
import { directoryAdapter } from './directory/adapter';
import { kvAdapter } from './kv/adapter';
import { mariadbAdapter } from './mariadb/adapter';
import { mongodbAdapter } from './mongodb/adapter';
import { natsAdapter } from './nats/adapter';
import { postgresAdapter } from './postgres/adapter';
import { r2Adapter } from './r2/adapter';
import { rabbitmqAdapter } from './rabbitmq/adapter';
import { redisAdapter } from './redis/adapter';
import { s3Adapter } from './s3/adapter';
import { sqliteAdapter } from './sqlite/adapter';

const adapters: { [K in DatastoreKind]: AdapterFor<K> } = {
  sqlite: sqliteAdapter,
  directory: directoryAdapter,
  postgres: postgresAdapter,
  mariadb: mariadbAdapter,
  redis: redisAdapter,
  rabbitmq: rabbitmqAdapter,
  mongodb: mongodbAdapter,
  nats: natsAdapter,
  s3: s3Adapter,
  d1: d1Adapter,
  kv: kvAdapter,
  r2: r2Adapter,
};

export function adapterFor<D extends Datastore>(store: D): DatastoreAdapter<D> {
  return adapters[store.kind] as unknown as DatastoreAdapter<D>;
}

/**
 * The fingerprint of every stateful service. A store that cannot be read (deleted,
 * garbage) gets `unreadable: <why>`, which equals no real fingerprint.
 */
export async function fingerprintServices(
  services: Record<string, Service>,
): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const [name, { datastore }] of Object.entries(services)) {
    if (!datastore) continue;
    result[name] = await adapterFor(datastore)
      .fingerprint(datastore)
      .catch((e: Error) => `unreadable: ${e.message}`);
  }
  return result;
}
