/**
 * miniflare's on-disk layout as datastores/shared/miniflare-state.ts computes it, against
 * the names a real workerd (miniflare 4.20260426.0) gave its files on this machine:
 * `d1Databases: {DB: 'd1-db-1'}`, `kvNamespaces: {KV: 'kv-ns-1'}`, `r2Buckets: {BUCKET: 'bucket-1'}`
 * with `defaultPersistRoot: R`. test/workerd-bindings.test.ts checks it against a live run too.
 */
import {
  blobsDirOf,
  durableObjectFileId,
  sanitisePath,
  sqliteFileOf,
} from '../../datastores/shared/miniflare-state';

test('the SQLite file of each resource is named by the keyed hash of its id, as workerd named it', () => {
  expect(sqliteFileOf('d1', '/R', 'd1-db-1')).toBe(
    '/R/d1/miniflare-D1DatabaseObject/be1b083b7d5a43b005d0b58d01ef9ab62301c8dbfd6e5dda90bd6a610aa7a2c3.sqlite',
  );
  expect(sqliteFileOf('kv', '/R', 'kv-ns-1')).toBe(
    '/R/kv/miniflare-KVNamespaceObject/e8e2f397870dc29588ad5b7f4d1dca6a490391986497bda5b9417ec9d76593f1.sqlite',
  );
  expect(sqliteFileOf('r2', '/R', 'bucket-1')).toBe(
    '/R/r2/miniflare-R2BucketObject/fa7bf1ac36f6a9a323cff3aaf51c6d9a9cef823300db3e65223d66604cad9ff5.sqlite',
  );
});

test('the id depends on the resource id and the kind, never on anything else', () => {
  const id = durableObjectFileId('miniflare-D1DatabaseObject', 'd1-db-1');
  expect(id).toMatch(/^[0-9a-f]{64}$/);
  expect(durableObjectFileId('miniflare-D1DatabaseObject', 'd1-db-2')).not.toBe(id);
  expect(durableObjectFileId('miniflare-KVNamespaceObject', 'd1-db-1')).not.toBe(id);
});

test('the blobs directory is named by the resource id, made safe as miniflare makes file names safe', () => {
  expect(blobsDirOf('kv', '/R', 'kv-ns-1')).toBe('/R/kv/kv-ns-1/blobs');
  expect(blobsDirOf('r2', '/R', 'bucket-1')).toBe('/R/r2/bucket-1/blobs');
  // Measured: a host with kvNamespaces {KV: 'ns:odd ..x'} wrote these two.
  expect(blobsDirOf('kv', '/R', 'ns:odd ..x')).toBe('/R/kv/ns_odd ..x/blobs');
  expect(sqliteFileOf('kv', '/R', 'ns:odd ..x')).toBe(
    '/R/kv/miniflare-KVNamespaceObject/34fa9b86f358646ceb2f5319a3c159a05f65d10f6fef56808d94e56e1cb57ecb.sqlite',
  );
  expect(sanitisePath('a:b/c')).toBe('a_b_c');
  expect(sanitisePath('..')).toBe('__');
  expect(sanitisePath('con')).toBe('_');
});
