/**
 * Each adapter round trip through the repository, against this machine's real servers:
 * the restored data equals the original row for row, byte for byte, key for key.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { adapterFor } from '../datastores/adapters';
import type { Datastore } from '../model/manifest';
import { Repository } from '../repository/repository';
import { flipBit, packFileOf, packFiles } from './support/repository';
import * as stores from './support/stores';

const ctx = (stagingId = 'test0001') => ({ stagingId, signal: new AbortController().signal });

async function roundTrip<D extends Datastore>(store: D, target: D): Promise<void> {
  const repo = await Repository.openLocal(path.join(stores.tempDir(), 'repo'));
  const adapter = adapterFor(store);
  const ref = await repo.storeSnapshot(await adapter.snapshot(store, ctx()));
  expect(ref.size).toBeGreaterThan(0);
  expect(await repo.checkSnapshot(ref)).toBeUndefined();
  await adapter.restore(target, repo.openSnapshot(ref), ctx());
  expect(await adapter.fingerprint(target)).toBe(await adapter.fingerprint(store));
  // Restoring again over the restored copy (a retried step) gives the same data.
  await adapter.restore(target, repo.openSnapshot(ref), ctx());
  expect(await adapter.fingerprint(target)).toBe(await adapter.fingerprint(store));
}

test('SQLite: online backup, restored file has the same rows', async () => {
  const dir = stores.tempDir();
  const source = path.join(dir, 'app.db');
  stores.sqliteWithRows(source, 5000);
  const store: Datastore = { kind: 'sqlite', path: source };
  await roundTrip(store, { kind: 'sqlite', path: path.join(dir, 'copy.db') });
  expect((await fs.readdir(dir)).sort()).toEqual(['app.db', 'copy.db']);
});

test('directory: every file restored byte for byte, extra files gone', async () => {
  const dir = stores.tempDir();
  await stores.directoryWithFiles(path.join(dir, 'bucket'), 30, 20_000);
  const target = path.join(dir, 'restored');
  await stores.directoryWithFiles(target, 2, 10); // stale content the restore must replace
  await roundTrip({ kind: 'directory', path: path.join(dir, 'bucket') }, { kind: 'directory', path: target });
  const a = await fs.readFile(path.join(dir, 'bucket', 'part-1', 'file-4.bin'));
  expect(await fs.readFile(path.join(target, 'part-1', 'file-4.bin'))).toEqual(a);
});

test('PostgreSQL: pg_dump / pg_restore, same rows and the index', async () => {
  await stores.postgresWithRows('lz_adapter_src', 20_000);
  const base = { kind: 'postgres', host: '127.0.0.1', port: 5432, user: 'postgres' } as const;
  await roundTrip({ ...base, database: 'lz_adapter_src' }, { ...base, database: 'lz_adapter_dst' });
  const [row] = (await stores.postgresQuery(
    'lz_adapter_dst',
    'SELECT count(*)::int AS n, sum(balance)::text AS s FROM accounts',
  )) as { n: number; s: string }[];
  expect(row).toEqual({ n: 20_000, s: '250012500.00' });
  const indexes = await stores.postgresQuery(
    'lz_adapter_dst',
    "SELECT indexname FROM pg_indexes WHERE tablename = 'accounts' ORDER BY 1",
  );
  expect(indexes).toEqual([{ indexname: 'accounts_owner' }, { indexname: 'accounts_pkey' }]);
  expect(await stores.postgresDatabases('lz_adapter_dst_')).toEqual([]); // no staging left
});

test('MariaDB: mariadb-dump --single-transaction, same rows including blobs', async () => {
  await stores.mariadbWithRows('lz_adapter_src', 3000);
  const base = { kind: 'mariadb', host: '127.0.0.1', port: 3306, user: 'root' } as const;
  await roundTrip({ ...base, database: 'lz_adapter_src' }, { ...base, database: 'lz_adapter_dst' });
  expect(await stores.mariadbQuery('SELECT count(*) AS n FROM lz_adapter_dst.stock')).toEqual([{ n: 3000 }]);
  const leftovers = await stores.mariadbQuery("SHOW DATABASES LIKE 'lz\\_adapter\\_dst\\_%'");
  expect(leftovers).toEqual([]);
});

test('Redis: every key, type and TTL restored via a staging database and SWAPDB', async () => {
  await stores.redisWithKeys(1, 2000);
  const base = { kind: 'redis', host: '127.0.0.1', port: 6379, staging_db: 3 } as const;
  await roundTrip({ ...base, db: 1 }, { ...base, db: 2 });
  const redis = stores.redisClient(2);
  expect(await redis.dbsize()).toBe(4003);
  expect(await redis.lrange('list', 0, -1)).toEqual(['a', 'b', 'c']);
  expect(await redis.ttl('with-ttl')).toBeGreaterThan(3500);
  redis.disconnect();
  const staging = stores.redisClient(3);
  expect(await staging.dbsize()).toBe(0);
  staging.disconnect();
});

test("Redis refuses a staging database that holds someone else's keys", async () => {
  const staging = stores.redisClient(3);
  await staging.set('not-ours', '1');
  const store: Datastore = { kind: 'redis', host: '127.0.0.1', port: 6379, db: 2, staging_db: 3 };
  const repo = await Repository.openLocal(path.join(stores.tempDir(), 'repo'));
  await stores.redisWithKeys(1, 10);
  const ref = await repo.storeSnapshot(await adapterFor(store).snapshot({ ...store, db: 1 }, ctx()));
  await expect(adapterFor(store).restore(store, repo.openSnapshot(ref), ctx())).rejects.toThrow(
    /staging database 3 .* is not empty; set datastore.staging_db/,
  );
  expect(await staging.get('not-ours')).toBe('1');
  await staging.flushdb();
  staging.disconnect();
});

test('a failing dump is never stored as if complete', async () => {
  const repo = await Repository.openLocal(path.join(stores.tempDir(), 'repo'));
  const store: Datastore = {
    kind: 'postgres',
    host: '127.0.0.1',
    port: 5432,
    user: 'postgres',
    database: 'lz_does_not_exist',
  };
  await expect(repo.storeSnapshot(await adapterFor(store).snapshot(store, ctx()))).rejects.toThrow(
    /pg_dump exited with code 1: .*lz_does_not_exist/,
  );
  expect(await repo.listBackups()).toEqual([]);
  expect(await packFiles(repo.root)).toEqual([]);
  expect(repo.engine.index.blobCount).toBe(0);
});

test('a restore cut off half-way leaves the target as it was and no staging behind', async () => {
  const dir = stores.tempDir();
  const source = path.join(dir, 'data');
  await stores.directoryWithFiles(source, 40, 50_000);
  const target = path.join(dir, 'live');
  await stores.directoryWithFiles(target, 3, 100);
  const adapter = adapterFor({ kind: 'directory', path: target } as const);
  const before = await adapter.fingerprint({ kind: 'directory', path: target });
  const repo = await Repository.openLocal(path.join(dir, 'repo'));
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

describe('a damaged snapshot never replaces the target', () => {
  async function corruptedRestore<D extends Datastore>(source: D, target: D): Promise<void> {
    const repo = await Repository.openLocal(path.join(stores.tempDir(), 'repo'));
    const adapter = adapterFor(source);
    const ref = await repo.storeSnapshot(await adapter.snapshot(source, ctx()));
    await flipBit(await packFileOf(repo, ref)); // one flipped bit, mid-stream
    const before = await adapter.fingerprint(target);
    await expect(adapter.restore(target, repo.openSnapshot(ref), ctx('damage01'))).rejects.toThrow();
    await adapter.discard(target, ctx('damage01'));
    expect(await adapter.fingerprint(target)).toBe(before);
  }

  test('directory (tar)', async () => {
    const dir = stores.tempDir();
    await stores.directoryWithFiles(path.join(dir, 'a'), 10, 30_000);
    await stores.directoryWithFiles(path.join(dir, 'b'), 2, 100);
    await corruptedRestore(
      { kind: 'directory', path: path.join(dir, 'a') },
      { kind: 'directory', path: path.join(dir, 'b') },
    );
    expect((await fs.readdir(dir)).sort()).toEqual(['a', 'b']);
  });

  test('PostgreSQL (pg_restore reading stdin)', async () => {
    await stores.postgresWithRows('lz_damage_src', 5000);
    await stores.postgresWithRows('lz_damage_dst', 10);
    const base = { kind: 'postgres', host: '127.0.0.1', port: 5432, user: 'postgres' } as const;
    await corruptedRestore({ ...base, database: 'lz_damage_src' }, { ...base, database: 'lz_damage_dst' });
    expect(await stores.postgresDatabases('lz_damage_dst_')).toEqual([]);
  });
});

test('MariaDB: a database with views or triggers is refused with a clear error, the target unchanged', async () => {
  await stores.mariadbWithRows('lz_mview_src', 50);
  await stores.mariadbQuery(
    'CREATE VIEW lz_mview_src.busy AS SELECT id FROM lz_mview_src.stock WHERE qty > 10',
  );
  await stores.mariadbWithRows('lz_mview_dst', 5);
  const base = { kind: 'mariadb', host: '127.0.0.1', port: 3306, user: 'root' } as const;
  const source = { ...base, database: 'lz_mview_src' };
  const target = { ...base, database: 'lz_mview_dst' };
  const adapter = adapterFor(source);
  const before = await adapter.fingerprint(target);
  const repo = await Repository.openLocal(path.join(stores.tempDir(), 'repo'));
  const ref = await repo.storeSnapshot(await adapter.snapshot(source, ctx()));
  const restore = adapter.restore(target, repo.openSnapshot(ref), ctx('mview001'));
  await expect(restore).rejects.toThrow(
    'the snapshot for lz_mview_dst holds view busy; Lazarus restores MariaDB tables atomically',
  );
  await adapter.discard(target, ctx('mview001'));
  expect(await adapter.fingerprint(target)).toBe(before);
  expect(await stores.mariadbQuery("SHOW DATABASES LIKE 'lz\\_mview\\_dst\\_%'")).toEqual([]);
});

test('holdsData tells a target holding anything from one that is absent or empty, for every kind', async () => {
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

  const pg = {
    kind: 'postgres',
    host: '127.0.0.1',
    port: 5432,
    user: 'postgres',
    database: 'lz_input_holds',
  } as const;
  await adapterFor(pg).drop(pg);
  expect(await holds(pg)).toBe(false);
  await stores.postgresQuery('postgres', 'CREATE DATABASE lz_input_holds');
  expect(await holds(pg)).toBe(false); // created empty, for the restore
  await stores.postgresWithRows('lz_input_holds', 1);
  expect(await holds(pg)).toBe(true);
  await adapterFor(pg).drop(pg);

  const maria = {
    kind: 'mariadb',
    host: '127.0.0.1',
    port: 3306,
    user: 'root',
    database: 'lz_input_holds',
  } as const;
  await adapterFor(maria).drop(maria);
  expect(await holds(maria)).toBe(false);
  await stores.mariadbQuery('CREATE DATABASE lz_input_holds');
  expect(await holds(maria)).toBe(false);
  await stores.mariadbWithRows('lz_input_holds', 1);
  expect(await holds(maria)).toBe(true);
  await adapterFor(maria).drop(maria);

  const redis = { kind: 'redis', host: '127.0.0.1', port: 6379, db: 12, staging_db: 15 } as const;
  await adapterFor(redis).drop(redis);
  expect(await holds(redis)).toBe(false);
  await stores.redisWithKeys(12, 1);
  expect(await holds(redis)).toBe(true);
  await adapterFor(redis).drop(redis);
});
