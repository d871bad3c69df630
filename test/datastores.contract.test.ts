/**
 * The datastore contract (test/contracts/datastore.ts) for the kinds on this machine's
 * servers: PostgreSQL, MariaDB and Redis; then what is particular to each of them.
 */
import path from 'node:path';
import { adapterFor } from '../datastores/adapters';
import type { Datastore } from '../model/manifest';
import { Repository } from '../repository/repository';
import { ctx, datastoreContract } from './contracts/datastore';
import { packFiles } from './support/repository';
import * as stores from './support/stores';

const postgres = { kind: 'postgres', host: '127.0.0.1', port: 5432, user: 'postgres' } as const;
const mariadb = { kind: 'mariadb', host: '127.0.0.1', port: 3306, user: 'root' } as const;
const redis = { kind: 'redis', host: '127.0.0.1', port: 6379, staging_db: 3 } as const;

datastoreContract('postgres', {
  async stores() {
    await stores.postgresWithRows('lz_adapter_src', 20_000);
    await stores.postgresWithRows('lz_adapter_dst', 10);
    return {
      source: { ...postgres, database: 'lz_adapter_src' },
      target: { ...postgres, database: 'lz_adapter_dst' },
    };
  },
  leftovers: (target) => stores.postgresDatabases(`${target.database}_`),
  async checkRestored(target) {
    // pg_dump / pg_restore: the same rows, and the index.
    const [row] = (await stores.postgresQuery(
      target.database,
      'SELECT count(*)::int AS n, sum(balance)::text AS s FROM accounts',
    )) as { n: number; s: string }[];
    expect(row).toEqual({ n: 20_000, s: '250012500.00' });
    const indexes = await stores.postgresQuery(
      target.database,
      "SELECT indexname FROM pg_indexes WHERE tablename = 'accounts' ORDER BY 1",
    );
    expect(indexes).toEqual([{ indexname: 'accounts_owner' }, { indexname: 'accounts_pkey' }]);
  },
});

datastoreContract('mariadb', {
  async stores() {
    await stores.mariadbWithRows('lz_adapter_src', 3000);
    await stores.mariadbWithRows('lz_adapter_dst', 5);
    return {
      source: { ...mariadb, database: 'lz_adapter_src' },
      target: { ...mariadb, database: 'lz_adapter_dst' },
    };
  },
  leftovers: (target) =>
    stores.mariadbQuery(`SHOW DATABASES LIKE '${target.database.replace(/_/g, '\\_')}\\_%'`),
  async checkRestored(target) {
    // mariadb-dump --single-transaction: the same rows, blobs included (the fingerprint).
    expect(await stores.mariadbQuery(`SELECT count(*) AS n FROM ${target.database}.stock`)).toEqual([
      { n: 3000 },
    ]);
  },
});

datastoreContract('redis', {
  async stores() {
    await stores.redisWithKeys(1, 2000);
    await stores.redisWithKeys(2, 3);
    return { source: { ...redis, db: 1 }, target: { ...redis, db: 2 } };
  },
  async leftovers(target) {
    const staging = stores.redisClient(target.staging_db);
    try {
      return await staging.keys('*');
    } finally {
      staging.disconnect();
    }
  },
  async checkRestored(target) {
    // Every key, type and TTL, through the staging database and SWAPDB.
    const client = stores.redisClient(target.db);
    expect(await client.dbsize()).toBe(4003);
    expect(await client.lrange('list', 0, -1)).toEqual(['a', 'b', 'c']);
    expect(await client.ttl('with-ttl')).toBeGreaterThan(3500);
    client.disconnect();
  },
});

test("Redis refuses a staging database that holds someone else's keys", async () => {
  const staging = stores.redisClient(3);
  await staging.set('not-ours', '1');
  const store: Datastore = { ...redis, db: 2 };
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
  const store: Datastore = { ...postgres, database: 'lz_does_not_exist' };
  await expect(repo.storeSnapshot(await adapterFor(store).snapshot(store, ctx()))).rejects.toThrow(
    /pg_dump exited with code 1: .*lz_does_not_exist/,
  );
  expect(await repo.listBackups()).toEqual([]);
  expect(await packFiles(repo.root)).toEqual([]);
  expect(repo.engine.index.blobCount).toBe(0);
});

test('MariaDB: a database with views or triggers is refused with a clear error, the target unchanged', async () => {
  await stores.mariadbWithRows('lz_mview_src', 50);
  await stores.mariadbQuery(
    'CREATE VIEW lz_mview_src.busy AS SELECT id FROM lz_mview_src.stock WHERE qty > 10',
  );
  await stores.mariadbWithRows('lz_mview_dst', 5);
  const source = { ...mariadb, database: 'lz_mview_src' };
  const target = { ...mariadb, database: 'lz_mview_dst' };
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

test('holdsData tells a database or keyspace holding anything from one that is absent or empty', async () => {
  const holds = (store: Datastore) => adapterFor(store).holdsData(store);
  const pg = { ...postgres, database: 'lz_input_holds' };
  await adapterFor(pg).drop(pg);
  expect(await holds(pg)).toBe(false);
  await stores.postgresQuery('postgres', 'CREATE DATABASE lz_input_holds');
  expect(await holds(pg)).toBe(false); // created empty, for the restore
  await stores.postgresWithRows('lz_input_holds', 1);
  expect(await holds(pg)).toBe(true);
  await adapterFor(pg).drop(pg);

  const maria = { ...mariadb, database: 'lz_input_holds' };
  await adapterFor(maria).drop(maria);
  expect(await holds(maria)).toBe(false);
  await stores.mariadbQuery('CREATE DATABASE lz_input_holds');
  expect(await holds(maria)).toBe(false);
  await stores.mariadbWithRows('lz_input_holds', 1);
  expect(await holds(maria)).toBe(true);
  await adapterFor(maria).drop(maria);

  const keyspace = { ...redis, db: 12, staging_db: 15 };
  await adapterFor(keyspace).drop(keyspace);
  expect(await holds(keyspace)).toBe(false);
  await stores.redisWithKeys(12, 1);
  expect(await holds(keyspace)).toBe(true);
  await adapterFor(keyspace).drop(keyspace);
});
