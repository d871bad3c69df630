/**
 * Every datastore kind, listed once. The manifest schema, load-time checks, drill
 * sandboxes, discovery and drift read this list; the worker's adapters
 * (datastores/adapters.ts) are checked against it by the compiler. Pure, without Node
 * built-ins: workflows import it.
 */
import { z } from 'zod';
import type { DatastoreSpec, KindSchema } from './kind';
import { d1 } from './d1/spec';
import { directory } from './directory/spec';
import { kv } from './kv/spec';
import { mongodb } from './mongodb/spec';
import { mariadb } from './mariadb/spec';
import { nats } from './nats/spec';
import { postgres } from './postgres/spec';
import { r2 } from './r2/spec';
import { rabbitmq } from './rabbitmq/spec';
import { redis } from './redis/spec';
import { s3 } from './s3/spec';
import { sqlite } from './sqlite/spec';

export const datastoreSpecs = [
  sqlite,
  directory,
  postgres,
  mariadb,
  redis,
  rabbitmq,
  mongodb,
  nats,
  s3,
  d1,
  kv,
  r2,
] as const;

type SchemasOf<T extends readonly DatastoreSpec<KindSchema>[]> = {
  -readonly [I in keyof T]: T[I] extends DatastoreSpec<infer S> ? S : never;
};

export const datastoreSchema = z.discriminatedUnion(
  'kind',
  datastoreSpecs.map((spec) => spec.schema) as unknown as SchemasOf<typeof datastoreSpecs>,
);
export type Datastore = z.infer<typeof datastoreSchema>;
export type DatastoreKind = Datastore['kind'];
export type StoreOf<K extends DatastoreKind> = Extract<Datastore, { kind: K }>;

/** A kind's spec as code that holds any store sees it: called with stores of that kind only. */
export type AnyDatastoreSpec = DatastoreSpec<z.ZodType<Datastore> & z.core.$ZodTypeDiscriminable>;

const specsByKind = new Map<string, AnyDatastoreSpec>(
  datastoreSpecs.map((spec) => [spec.kind, spec as unknown as AnyDatastoreSpec]),
);

export function specFor(kind: DatastoreKind): AnyDatastoreSpec {
  return specsByKind.get(kind)!;
}

/** Is the store a file or directory on the worker's filesystem? */
export function isPathStore(store: Datastore): store is Extract<Datastore, { path: string }> {
  return specFor(store.kind).storedAt === 'path';
}

/**
 * A datastore's identity across manifests: the server and database, keyspace, file or
 * directory it is. Takes a discovered entry as well (defaults not yet applied).
 */
export function storeIdentity(entry: Record<string, unknown>): string {
  const parsed = datastoreSchema.safeParse(entry);
  if (!parsed.success) return `${String(entry.kind)}:${String(entry.path)}`;
  return specFor(parsed.data.kind).identity(parsed.data);
}
