/**
 * The datastore contract (test/contracts/datastore.ts) for the kinds that need no server,
 * SQLite and directory, and the sandbox-target check for every registered kind; then what
 * is particular to those two kinds.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { adapterFor } from '../../datastores/adapters';
import type { Datastore } from '../../model/manifest';
import { Repository } from '../../repository/repository';
import { ctx, datastoreContract, sandboxTargetContract, validatorsContract } from '../contracts/datastore';
import * as stores from '../support/stores';

/** Files beside a path store that a restore left: staging, set-aside, journals. */
async function besidePath(store: { path: string }): Promise<string[]> {
  const base = path.basename(store.path);
  const names = await fs.readdir(path.dirname(store.path));
  return names.filter((name) => name.startsWith(base) && name !== base);
}

sandboxTargetContract({
  sqlite: { kind: 'sqlite', path: '/srv/shop/orders.db' },
  directory: { kind: 'directory', path: '/srv/shop/media' },
  postgres: { kind: 'postgres', host: '127.0.0.1', port: 5432, user: 'postgres', database: 'payments' },
  mariadb: { kind: 'mariadb', host: '127.0.0.1', port: 3306, user: 'root', database: 'inventory' },
  redis: { kind: 'redis', host: '127.0.0.1', port: 6379, db: 0, staging_db: 15, sandbox_db: 14 },
  rabbitmq: {
    kind: 'rabbitmq',
    host: '127.0.0.1',
    port: 5672,
    vhost: 'orders',
    user: 'guest',
    users: false,
    on_mismatch: 'report',
    import_timeout: 60_000,
  },
  mongodb: { kind: 'mongodb', host: '127.0.0.1', port: 27017, database: 'catalogue', tls: false },
  nats: {
    kind: 'nats',
    host: '127.0.0.1',
    port: 4222,
    streams: ['ORDERS'],
    kv: ['sessions'],
    object_stores: [],
    sandbox: { host: '127.0.0.1', port: 4223 },
  },
  s3: {
    kind: 's3',
    endpoint: 'http://minio:9000',
    region: 'us-east-1',
    bucket: 'shop-media',
    prefix: 'uploads',
    force_path_style: true,
    access_key_id: { env: 'MINIO_ROOT_USER' },
    secret_access_key: { env: 'MINIO_ROOT_PASSWORD' },
    sandbox_bucket: 'shop-media-drill',
  },
  d1: { kind: 'd1', path: '/srv/notes/state', database_id: 'notes-db' },
  kv: { kind: 'kv', path: '/srv/notes/state', namespace_id: 'sessions' },
  r2: { kind: 'r2', path: '/srv/notes/state', bucket: 'attachments' },
});

validatorsContract();

datastoreContract('sqlite', {
  async stores() {
    const dir = stores.tempDir();
    stores.sqliteWithRows(path.join(dir, 'app.db'), 5000);
    stores.sqliteWithRows(path.join(dir, 'copy.db'), 3, 'old');
    return {
      source: { kind: 'sqlite', path: path.join(dir, 'app.db') },
      target: { kind: 'sqlite', path: path.join(dir, 'copy.db') },
    };
  },
  leftovers: besidePath,
  async checkRestored(target) {
    expect((await fs.readdir(path.dirname(target.path))).sort()).toEqual(['app.db', 'copy.db']);
  },
});

datastoreContract('directory', {
  async stores() {
    const dir = stores.tempDir();
    await stores.directoryWithFiles(path.join(dir, 'bucket'), 30, 20_000);
    await stores.directoryWithFiles(path.join(dir, 'restored'), 2, 10); // stale content the restore must replace
    return {
      source: { kind: 'directory', path: path.join(dir, 'bucket') },
      target: { kind: 'directory', path: path.join(dir, 'restored') },
    };
  },
  leftovers: besidePath,
  async checkRestored(target, source) {
    // Every file byte for byte, and the stale ones gone (the fingerprints are equal).
    const original = await fs.readFile(path.join(source.path, 'part-1', 'file-4.bin'));
    expect(await fs.readFile(path.join(target.path, 'part-1', 'file-4.bin'))).toEqual(original);
  },
});

test('a restore cancelled half-way leaves the target as it was and no staging behind', async () => {
  const dir = stores.tempDir();
  const source = path.join(dir, 'data');
  await stores.directoryWithFiles(source, 40, 50_000);
  const target = path.join(dir, 'live');
  await stores.directoryWithFiles(target, 3, 100);
  const adapter = adapterFor({ kind: 'directory', path: target } as const);
  const before = await adapter.fingerprint({ kind: 'directory', path: target });
  const repo = await Repository.openLocal(path.join(dir, 'repo'), { workers: 0 });
  const ref = await repo.storeSnapshot(await adapter.snapshot({ kind: 'directory', path: source }, ctx()));

  const abort = new AbortController();
  const half = repo.openSnapshot(ref);
  let seen = 0;
  half.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > ref.size / 2) abort.abort();
  });
  const store = { kind: 'directory', path: target } as const;
  await expect(
    adapter.restore(store, half, { stagingId: 'cut00001', signal: abort.signal }),
  ).rejects.toThrow();
  await adapter.discard(store, { stagingId: 'cut00001', signal: abort.signal });
  expect(await adapter.fingerprint(store)).toBe(before);
  expect((await fs.readdir(dir)).sort()).toEqual(['data', 'live', 'repo']);
});

test('holdsData tells a file or directory holding anything from one that is absent or empty', async () => {
  const holds = (store: Datastore) => adapterFor(store).holdsData(store);
  const dir = stores.tempDir();
  const file = path.join(dir, 'a.db');
  expect(await holds({ kind: 'sqlite', path: file })).toBe(false);
  await fs.writeFile(file, '');
  expect(await holds({ kind: 'sqlite', path: file })).toBe(false);
  await fs.writeFile(file, 'x');
  expect(await holds({ kind: 'sqlite', path: file })).toBe(true);
  const tree = path.join(dir, 'tree');
  expect(await holds({ kind: 'directory', path: tree })).toBe(false);
  await fs.mkdir(tree);
  expect(await holds({ kind: 'directory', path: tree })).toBe(false);
  await fs.writeFile(path.join(tree, 'f'), '');
  expect(await holds({ kind: 'directory', path: tree })).toBe(true);
  expect(await holds({ kind: 'directory', path: file })).toBe(true); // a file where the directory goes
});
