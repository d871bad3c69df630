/**
 * MongoDB on a real MongoDB-wire server the test starts: FerretDB v1.24.2 (SQLite backend,
 * tools/ferretdb-server.ts). The datastore contract, then what is particular to MongoDB.
 * What FerretDB lacks (fsyncLock, dropTarget, snapshot reads) is found by probing, and the
 * tests of those paths say so when they skip them.
 */
import net from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { BSON, Binary, Double, Int32, Long, MongoClient, ObjectId, Timestamp, UUID } from 'mongodb';
import { runValidators } from '../activities/drill';
import { adapterFor } from '../datastores/adapters';
import { listCollections } from '../datastores/mongodb/adapter';
import { listMongoStores } from '../datastores/mongodb/live';
import type { Datastore } from '../model/manifest';
import { Repository } from '../repository/repository';
import { type FerretServer, startFerretDB } from '../tools/ferretdb-server';
import { freePort } from '../tools/local-server';
import { ctx, datastoreContract } from './contracts/datastore';
import { tempDir } from './support/stores';

type MongoStore = Extract<Datastore, { kind: 'mongodb' }>;
/** Documents whose _id is not an ObjectId (the driver's default typing). */
type AnyDoc = { _id: unknown; [key: string]: unknown };

let server: FerretServer;
let client: MongoClient;

beforeAll(async () => {
  server = await startFerretDB(path.join(tempDir(), 'ferretdb'));
  client = await MongoClient.connect(server.url);
}, 600_000); // a first run builds FerretDB (minutes)

afterAll(async () => {
  // The server is throwaway; its databases go with it, dropped first only to keep its directory small.
  const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
  for (const { name } of databases) if (name.startsWith('lz_mongodb_')) await client.db(name).dropDatabase();
  await client?.close();
  await server?.stop();
});

const store = (database: string): MongoStore => ({
  kind: 'mongodb',
  host: '127.0.0.1',
  port: server.port,
  database,
  tls: false,
});

/** `count` orders (a compound and a unique index), a capped events collection, a settings document. */
async function seedShop(database: string, count: number): Promise<void> {
  const db = client.db(database);
  await db.dropDatabase();
  const orders = db.collection<AnyDoc>('orders');
  for (let start = 0; start < count; start += 5000) {
    const docs = Array.from({ length: Math.min(5000, count - start) }, (_, j) => {
      const i = start + j;
      return {
        _id: i,
        sku: `sku-${i}`,
        qty: new Int32(i % 50),
        total: new Double(i / 4),
        at: new Date(1.7e12 + i),
      };
    });
    await orders.insertMany(docs);
  }
  await orders.createIndex({ sku: 1 }, { unique: true, name: 'sku_unique' });
  await orders.createIndex({ qty: 1, at: -1 }, { name: 'qty_at' });
  await db.createCollection('events', { capped: true, size: 1 << 20, max: 1000 });
  await db.collection('events').insertMany([{ kind: 'created' }, { kind: 'paid' }]);
  await db.collection<AnyDoc>('settings').insertOne({ _id: 'shop', currency: 'EUR', open: true });
}

async function leftoversOf(database: string): Promise<string[]> {
  const names = (await client.db(database).listCollections({}, { nameOnly: true }).toArray()).map(
    (c) => c.name,
  );
  return names.filter((n) => /^lz(stg|old)_/.test(n));
}

async function backup(source: MongoStore) {
  const repo = await Repository.openLocal(path.join(tempDir(), 'repo'), { workers: 0 });
  const ref = await repo.storeSnapshot(await adapterFor(source).snapshot(source, ctx()));
  return { repo, ref };
}

datastoreContract('mongodb', {
  async stores() {
    await seedShop('lz_mongodb_src', 20_000);
    const target = client.db('lz_mongodb_dst');
    await target.dropDatabase();
    await target.collection('orders').insertOne({ _id: 1 as never, sku: 'other' });
    await target.collection('stale').insertOne({ left: 'over' });
    return { source: store('lz_mongodb_src'), target: store('lz_mongodb_dst') };
  },
  leftovers: (target) => leftoversOf(target.database),
  async checkRestored(target) {
    const db = client.db(target.database);
    expect(await listCollections(target)).toEqual(['events', 'orders', 'settings']); // stale is gone
    expect(await db.collection('orders').countDocuments()).toBe(20_000);
    const indexes = await db.collection('orders').listIndexes().toArray();
    expect(indexes.map((i) => [i.name, i.key, i.unique ?? false])).toEqual([
      ['_id_', { _id: 1 }, false],
      ['qty_at', { qty: 1, at: -1 }, false],
      ['sku_unique', { sku: 1 }, true],
    ]);
    // The unique index is built and enforced on the swapped-in collection.
    await expect(db.collection('orders').insertOne({ sku: 'sku-7' })).rejects.toThrow(/duplicate key/);
    const [events] = (await db.listCollections({ name: 'events' }).toArray()) as { options?: object }[];
    expect(events.options).toMatchObject({ capped: true, size: 1 << 20, max: 1000 });
  },
});

test('every BSON type FerretDB keeps survives a round trip byte for byte', async () => {
  const db = client.db('lz_mongodb_types');
  await db.dropDatabase();
  await db.collection<AnyDoc>('values').insertMany([
    {
      _id: new ObjectId('65a1b2c3d4e5f60718293a4b'),
      int32: new Int32(7),
      int64: Long.fromString('9007199254740993'),
    },
    {
      _id: 'text-id',
      double: new Double(1.5),
      whole: new Double(2),
      date: new Date('2026-12-01T10:00:00.123Z'),
    },
    {
      _id: new Int32(3),
      bin: new Binary(Buffer.from([0, 1, 2, 255])),
      uuid: new UUID('0e1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b'),
    },
    {
      _id: { nested: 'key' },
      ts: new Timestamp({ t: 1700000000, i: 5 }),
      re: new BSON.BSONRegExp('^a.c$', 'i'),
    },
    {
      _id: 5,
      flag: false,
      nothing: null,
      list: [1, 'two', { three: 3 }],
      doc: { deep: { er: new Int32(1) } },
    },
  ]);
  const raw = async (database: string) => {
    const docs = await client
      .db(database)
      .collection('values')
      .find({}, { raw: true, sort: { _id: 1 } })
      .toArray();
    return docs as unknown as Buffer[];
  };
  const source = store('lz_mongodb_types');
  const target = store('lz_mongodb_types_copy');
  await adapterFor(target).drop(target);
  const { repo, ref } = await backup(source);
  await adapterFor(target).restore(target, repo.openSnapshot(ref), ctx('types001'));
  const [before, after] = [await raw(source.database), await raw(target.database)];
  expect(after).toHaveLength(5);
  expect(after.map((b) => Buffer.from(b).toString('hex'))).toEqual(
    before.map((b) => Buffer.from(b).toString('hex')),
  );
  // And the types themselves, read without promotion: an Int32 is still an Int32, a Long a Long.
  const first = BSON.deserialize(
    after.find((b) => Buffer.from(b).includes(Buffer.from('int32')))!,
    { promoteValues: false },
  );
  expect(first.int32).toBeInstanceOf(Int32);
  expect(first.int64).toBeInstanceOf(Long);
  expect(await adapterFor(target).fingerprint(target)).toBe(await adapterFor(source).fingerprint(source));
});

test('FerretDB refuses renameCollection dropTarget, so a restore over live collections takes the fallback swap', async () => {
  const db = client.db('lz_mongodb_probe');
  await db.dropDatabase();
  await db.collection('a').insertOne({ x: 1 });
  await db.collection('b').insertOne({ x: 2 });
  const dropTarget = await db
    .collection('a')
    .rename('b', { dropTarget: true })
    .then(
      () => true,
      () => false,
    );
  await db.dropDatabase();
  if (dropTarget) {
    console.warn('this server has renameCollection dropTarget: the fallback swap is not exercised here');
    return;
  }
  // The contract restores over live collections already; here, a second restore of other data.
  await seedShop('lz_mongodb_fb_src', 50);
  await seedShop('lz_mongodb_fb_dst', 10);
  const [source, target] = [store('lz_mongodb_fb_src'), store('lz_mongodb_fb_dst')];
  const { repo, ref } = await backup(source);
  await adapterFor(target).restore(target, repo.openSnapshot(ref), ctx('fallbck1'));
  expect(await adapterFor(target).fingerprint(target)).toBe(await adapterFor(source).fingerprint(source));
  expect(await leftoversOf(target.database)).toEqual([]);
});

test('a swap cut short between its renames is put right by the retry: the set-aside original comes back first', async () => {
  await seedShop('lz_mongodb_cut', 30);
  const target = store('lz_mongodb_cut');
  const before = await adapterFor(target).fingerprint(target);
  // As a crash after "live -> lzold_*" leaves it: the live collection only under its set-aside name.
  await client.db('lz_mongodb_cut').collection('orders').rename('lzold_crash001_orders');
  await adapterFor(target).discard(target, ctx('crash001'));
  expect(await adapterFor(target).fingerprint(target)).toBe(before);
  expect(await leftoversOf(target.database)).toEqual([]);
});

test('a collection name that cannot be staged is refused before anything is written', async () => {
  const db = client.db('lz_mongodb_long');
  await db.dropDatabase();
  const long = `c${'x'.repeat(220)}`;
  await db.collection(long).insertOne({ a: 1 });
  await seedShop('lz_mongodb_long_dst', 5);
  const target = store('lz_mongodb_long_dst');
  const before = await adapterFor(target).fingerprint(target);
  const { repo, ref } = await backup(store('lz_mongodb_long'));
  await expect(adapterFor(target).restore(target, repo.openSnapshot(ref), ctx('long0001'))).rejects.toThrow(
    new RegExp(
      `^mongodb://127.0.0.1:${server.port}/lz_mongodb_long_dst: cannot restore: ${long} is too long to stage .*Rename the collection`,
    ),
  );
  expect(await adapterFor(target).fingerprint(target)).toBe(before);
  expect(await leftoversOf(target.database)).toEqual([]);
});

test('an unreachable server: a clear error naming the store and what to check', async () => {
  const target = { ...store('lz_mongodb_none'), port: await freePort() };
  await expect(adapterFor(target).restore(target, Readable.from([]), ctx())).rejects.toThrow(
    new RegExp(
      `^mongodb://127.0.0.1:${target.port}/lz_mongodb_none: cannot reach the server .*check datastore.host and datastore.port`,
    ),
  );
  await expect(adapterFor(target).snapshot(target, ctx())).rejects.toMatchObject({ name: 'UserError' });
});

test('wrong credentials: a clear error naming the user and the fields to fix; the right ones work', async () => {
  const secured = await startFerretDB(path.join(tempDir(), 'ferretdb-auth'), {
    user: { name: 'lzadmin', password: 'right-secret' },
  });
  try {
    process.env.LZ_MONGO_TEST_PASSWORD = 'wrong-secret';
    const base = { ...store('lz_mongodb_auth'), port: secured.port, user: 'lzadmin', auth_source: 'admin' };
    const wrong: MongoStore = { ...base, password: { env: 'LZ_MONGO_TEST_PASSWORD' } };
    await expect(adapterFor(wrong).fingerprint(wrong)).rejects.toThrow(
      new RegExp(
        `^mongodb://lzadmin@127.0.0.1:${secured.port}/lz_mongodb_auth: authentication failed for user lzadmin; check datastore.user, datastore.password`,
      ),
    );
    process.env.LZ_MONGO_TEST_PASSWORD = 'right-secret';
    expect(await adapterFor(wrong).holdsData(wrong)).toBe(false);
  } finally {
    delete process.env.LZ_MONGO_TEST_PASSWORD;
    await secured.stop();
  }
});

/**
 * A stand-in for a MongoDB server older than 4.4, which nothing here runs: it answers the
 * driver's handshake (OP_QUERY or OP_MSG hello) with maxWireVersion 8 (MongoDB 4.2).
 */
async function oldServerStandIn(): Promise<{ port: number; close(): void }> {
  const reply = BSON.serialize({
    ok: 1,
    ismaster: true,
    isWritablePrimary: true,
    maxWireVersion: 8,
    minWireVersion: 0,
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
  });
  const sockets = new Set<net.Socket>();
  const standIn = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (message) => {
      const [requestId, opCode] = [message.readInt32LE(4), message.readInt32LE(12)];
      const body =
        opCode === 2004 // OP_QUERY -> OP_REPLY
          ? Buffer.concat([Buffer.alloc(20), reply])
          : Buffer.concat([Buffer.alloc(5), reply]); // OP_MSG: flags, section kind 0
      const header = Buffer.alloc(16);
      header.writeInt32LE(16 + body.length, 0);
      header.writeInt32LE(1, 4);
      header.writeInt32LE(requestId, 8);
      header.writeInt32LE(opCode === 2004 ? 1 : 2013, 12);
      if (opCode === 2004) body.writeInt32LE(1, 16); // numberReturned
      socket.write(Buffer.concat([header, body]));
    });
    socket.on('error', () => {});
  });
  const port = await freePort();
  await new Promise<void>((resolve) => standIn.listen(port, '127.0.0.1', resolve));
  return {
    port,
    close: () => {
      for (const s of sockets) s.destroy();
      standIn.close();
    },
  };
}

test('a server older than MongoDB 4.4 (a stand-in answering maxWireVersion 8) is refused clearly', async () => {
  const old = await oldServerStandIn();
  try {
    const target = { ...store('lz_mongodb_old'), port: old.port };
    await expect(adapterFor(target).restore(target, Readable.from([]), ctx())).rejects.toThrow(
      /lz_mongodb_old: the server is older than MongoDB 4.4, .*upgrade the server to 4.4 or later/,
    );
  } finally {
    old.close();
  }
});

test('freezeWrites: fsyncLock where the server has it, else a no-op that relies on the pause hook; a stale lock is released', async () => {
  const target = store('lz_mongodb_src');
  const admin = client.db('admin');
  const hasFsyncLock = await admin.command({ fsync: 1, lock: true }).then(
    async () => (await admin.command({ fsyncUnlock: 1 }), true),
    () => false,
  );
  const ctxF = { ...ctx('freeze01'), deadline: Date.now() + 60_000, leaseMs: 30_000, scratchDir: tempDir() };
  if (hasFsyncLock) {
    await admin.command({ fsync: 1, lock: true }); // a dead worker's lock
    const freeze = await adapterFor(target).freezeWrites!(target, ctxF);
    await freeze.release();
    const op = await admin.command({ currentOp: 1 });
    expect(op.fsyncLock ?? false).toBe(false);
  } else {
    console.warn(
      'no fsyncLock on this server (FerretDB): the stale-lock release needs a real mongod, untested here',
    );
    const freeze = await adapterFor(target).freezeWrites!(target, ctxF);
    await freeze.release();
  }
  await client
    .db('lz_mongodb_src')
    .collection('settings')
    .updateOne({ _id: 'shop' as never }, { $set: { open: true } });
});

test('a group snapshot point on a standalone server: spooled while frozen, and a torn dump is refused', async () => {
  await seedShop('lz_mongodb_point', 5000);
  const source = store('lz_mongodb_point');
  const scratch = {
    ...ctx('point001'),
    deadline: Date.now() + 60_000,
    leaseMs: 30_000,
    scratchDir: tempDir(),
  };
  const point = await adapterFor(source).snapshotPoint(source, scratch);
  expect(point.position).toMatch(/^fingerprint [0-9a-f]{16}$/);
  const repo = await Repository.openLocal(path.join(tempDir(), 'repo'), { workers: 0 });
  const ref = await repo.storeSnapshot(await point.open());
  const copy = store('lz_mongodb_point_copy');
  await adapterFor(copy).drop(copy);
  await adapterFor(copy).restore(copy, repo.openSnapshot(ref), ctx('point001'));
  expect(await adapterFor(copy).fingerprint(copy)).toBe(await adapterFor(source).fingerprint(source));

  // Writers that the pause hook did not stop: the point fails rather than keep a torn dump.
  let writing = true;
  const writer = (async () => {
    for (let i = 0; writing; i++) {
      await client
        .db('lz_mongodb_point')
        .collection('orders')
        .insertOne({ _id: 100_000 + i, sku: `late-${i}` } as never);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  await expect(
    adapterFor(source).snapshotPoint(source, { ...scratch, stagingId: 'point002' }),
  ).rejects.toThrow(/changed while it was dumped \(a torn snapshot\).*pause hook must stop its writers/);
  writing = false;
  await writer;
});

test('drill validators document_count and mongo_query run against the copy', async () => {
  await seedShop('lz_mongodb_drill', 100);
  const datastore = store('lz_mongodb_prod');
  const tools = { adapterFor, runHookOnce: async () => ({ ok: true, detail: '' }) };
  const results = await runValidators(
    tools as never,
    {
      repository: { location: tempDir() },
      service: 'catalogue',
      datastore,
      target: 'lz_mongodb_drill',
      validators: [
        { document_count: { collection: 'orders', min: 100, max: 100 } },
        { document_count: { collection: 'orders', min: 101 } },
        {
          mongo_query: { collection: 'settings', filter: { _id: 'shop' }, field: 'currency', expect: 'EUR' },
        },
        { mongo_query: { collection: 'orders', filter: { qty: { $gte: 49 } } } },
        { mongo_query: { collection: 'orders', filter: { sku: 'nope' } } },
        {
          mongo_query: {
            collection: 'orders',
            filter: { at: { $date: '2023-11-14T22:13:20.005Z' } },
            field: 'sku',
            expect: 'sku-5',
          },
        },
      ],
      context: {},
    } as never,
    {} as never,
    new AbortController().signal,
  );
  expect(results.map((r) => [r.ok, r.detail])).toEqual([
    [true, '100'],
    [false, '100'],
    [true, 'got EUR'],
    [true, 'a document matched'],
    [false, 'no document matched'],
    [true, 'got sku-5'],
  ]);
});

test('live discovery lists the databases, not admin/local/config; an unreachable URL is a UserError with the password masked', async () => {
  await seedShop('lz_mongodb_live', 1);
  const stores = await listMongoStores(server.url);
  expect(stores.map((s) => s.name)).toContain('lz_mongodb_live');
  expect(stores.map((s) => s.name)).not.toEqual(expect.arrayContaining(['admin']));
  expect(stores.find((s) => s.name === 'lz_mongodb_live')!.datastore).toEqual({
    kind: 'mongodb',
    host: '127.0.0.1',
    port: server.port,
    database: 'lz_mongodb_live',
  });
  const port = await freePort();
  const failure = listMongoStores(`mongodb://app:hunter2@127.0.0.1:${port}/`);
  await expect(failure).rejects.toMatchObject({ name: 'UserError' });
  await expect(failure).rejects.toThrow(`--mongodb mongodb://app:***@127.0.0.1:${port}/`);
  await expect(failure.catch((e: Error) => e.message)).resolves.not.toContain('hunter2');
});

test('round trip of 20,000 documents: time and archive size', async () => {
  await seedShop('lz_mongodb_bench', 20_000);
  const source = store('lz_mongodb_bench');
  const target = store('lz_mongodb_bench_copy');
  await adapterFor(target).drop(target);
  const started = Date.now();
  const { repo, ref } = await backup(source);
  const dumped = Date.now();
  await adapterFor(target).restore(target, repo.openSnapshot(ref), ctx('bench001'));
  const restored = Date.now();
  expect(await adapterFor(target).fingerprint(target)).toBe(await adapterFor(source).fingerprint(source));
  console.log(
    `mongodb round trip, 20,000 orders + 2 events + 1 setting: snapshot ${dumped - started} ms, ` +
      `restore ${restored - dumped} ms, archive ${ref.size} bytes`,
  );
});
