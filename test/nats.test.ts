/**
 * NATS JetStream (datastores/nats): the datastore contract between the machine's NATS
 * (127.0.0.1:4222) and a scratch nats-server holding the same stream names (a stream
 * restores only under its own name), then what is particular to NATS: consumers, KV,
 * dedup window, bad input, live discovery, and the figures for a 10,000-message stream.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, headers, type NatsConnection } from 'nats';
import { runValidators } from '../activities/drill';
import { adapterFor } from '../datastores/adapters';
import { listNatsStores } from '../datastores/nats/live';
import { scratchDir } from '../datastores/nats/scratch';
import type { StoreOf } from '../datastores/registry';
import { Repository } from '../repository/repository';
import { freePort, stopProcess, waitForPort } from '../tools/local-server';
import { ctx, datastoreContract } from './contracts/datastore';
import { tempDir } from './support/stores';

type NatsStore = StoreOf<'nats'>;

const STREAM = 'LZ_NATS_ORDERS';
const BUCKET = 'LZ_NATS_CFG';
const stagingIds = ['test0001', 'cut00001', 'discard1', 'retry001', 'damage01', 'nats0001', 'nats0002'];

interface Scratch {
  port: number;
  child: ChildProcess;
  dir: string;
}

/** A throwaway nats-server (JetStream unless told otherwise) on a free port. */
async function startServer(args: string[] = ['-js']): Promise<Scratch> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lz-nats-test-'));
  const port = await freePort();
  const all = [...args, ...(args.includes('-js') ? ['-sd', dir] : []), '-a', '127.0.0.1', '-p', String(port)];
  const child = spawn('/usr/sbin/nats-server', all, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  await waitForPort('nats-server', port, child, () => stderr);
  return { port, child, dir };
}

async function stopServer(server: Scratch): Promise<void> {
  await stopProcess(server.child);
  await fs.rm(server.dir, { recursive: true, force: true });
}

// The codec on the test's own thread: no built worker needed.
const inlineCodec = { workers: 0 };

const servers: Scratch[] = [];
let target: Scratch;
beforeAll(async () => {
  target = await startServer();
  servers.push(target);
});
afterAll(async () => {
  await withNats(4222, async (nc) => {
    const jsm = await nc.jetstreamManager();
    for (const name of await jsm.streams.names().next())
      if (name.includes('LZ_NATS_')) await jsm.streams.delete(name);
  });
  for (const server of servers) await stopServer(server);
});

async function withNats<T>(port: number, work: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: `127.0.0.1:${port}` });
  try {
    return await work(nc);
  } finally {
    await nc.close();
  }
}

/** A stream of `messages` (with headers and msg IDs), a durable consumer that acked 60%, and a KV bucket. */
async function fill(port: number, messages: number, seed: string, keys = 20): Promise<void> {
  await withNats(port, async (nc) => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(STREAM).catch(() => {});
    await jsm.streams.delete(`KV_${BUCKET}`).catch(() => {});
    await jsm.streams.add({ name: STREAM, subjects: ['lz_nats.orders.>'], duplicate_window: 5 * 60e9 });
    const js = nc.jetstream();
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < messages; i++) {
      const h = headers();
      h.set('x-order', `${seed}-${i}`);
      const data = Buffer.from(`${seed} order ${i} `.repeat(1 + (i % 7)));
      pending.push(js.publish(`lz_nats.orders.${i % 5}`, data, { headers: h, msgID: `${seed}-${i}` }));
      if (pending.length === 500) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    await jsm.consumers.add(STREAM, { durable_name: 'billing', ack_policy: 'explicit' as never });
    const consumer = await js.consumers.get(STREAM, 'billing');
    const acked = Math.floor(messages * 0.6);
    for (let done = 0; done < acked;) {
      const batch = await consumer.fetch({ max_messages: Math.min(500, acked - done), expires: 2000 });
      for await (const m of batch) {
        await m.ackAck();
        done += 1;
      }
    }
    const kv = await js.views.kv(BUCKET, { history: 3 });
    for (let i = 0; i < keys; i++) await kv.put(`key${i}`, Buffer.from(`${seed} value ${i}`));
    await kv.put('key0', Buffer.from(`${seed} value 0, second`));
  });
}

const store = (port: number): NatsStore => ({
  kind: 'nats',
  host: '127.0.0.1',
  port,
  streams: [STREAM],
  kv: [BUCKET],
  object_stores: [],
});

async function leftovers(): Promise<string[]> {
  const found: string[] = [];
  for (const id of stagingIds)
    if (await fs.stat(scratchDir(id)).catch(() => undefined)) found.push(scratchDir(id));
  return found;
}

datastoreContract('nats', {
  async stores() {
    await fill(4222, 2000, 'src');
    await fill(target.port, 3, 'old', 2);
    return { source: store(4222), target: store(target.port) };
  },
  leftovers: () => leftovers(),
  async checkRestored(restored) {
    await withNats(restored.port, async (nc) => {
      const jsm = await nc.jetstreamManager();
      // The consumer's ack floor came back, and with it what is still pending.
      const billing = await jsm.consumers.info(STREAM, 'billing');
      expect(billing.ack_floor.stream_seq).toBe(1200);
      expect(billing.num_pending).toBe(800);
      // The KV bucket: the latest value and the history.
      const kv = await nc.jetstream().views.kv(BUCKET);
      expect(Buffer.from((await kv.get('key0'))!.value).toString()).toBe('src value 0, second');
      expect((await jsm.streams.info(`KV_${BUCKET}`)).state.messages).toBe(21);
      // The dedup window: a message ID seen before the backup is still a duplicate.
      const ack = await nc.jetstream().publish('lz_nats.orders.1', Buffer.from('again'), { msgID: 'src-7' });
      expect(ack.duplicate).toBe(true);
    });
  },
});

describe('NATS: bad input is refused before anything is written, naming the store and the fix', () => {
  const snapshotOf = async (s: NatsStore) => adapterFor(s).snapshot(s, ctx());

  test('an unreachable server', async () => {
    const port = await freePort();
    await expect(snapshotOf(store(port))).rejects.toThrow(
      `nats: cannot reach nats://127.0.0.1:${port}/KV_${BUCKET},${STREAM} (CONNECTION_REFUSED); check datastore.host and port`,
    );
  });

  test('wrong credentials', async () => {
    const guarded = await startServer(['-js', '--user', 'lz', '--pass', 'right']);
    servers.push(guarded);
    process.env.LZ_NATS_TEST_PASSWORD = 'wrong';
    const s: NatsStore = { ...store(guarded.port), user: 'lz', password: { env: 'LZ_NATS_TEST_PASSWORD' } };
    await expect(snapshotOf(s)).rejects.toThrow(/refused the credentials; check datastore.user and password/);
    process.env.LZ_NATS_TEST_PASSWORD = 'right'; // then the server lets us in, and has no such stream
    await expect(snapshotOf(s)).rejects.toThrow(/does not exist on nats:\/\/127.0.0.1:\d+\/KV_LZ_NATS_CFG/);
  });

  test('a server without JetStream', async () => {
    const plain = await startServer([]);
    servers.push(plain);
    const s = store(plain.port);
    await expect(snapshotOf(s)).rejects.toThrow(/JetStream is not enabled on .*; start nats-server with -js/);
    await expect(adapterFor(s).restore(s, emptyInput(), ctx('nats0001'))).rejects.toThrow(
      /JetStream is not enabled/,
    );
  });

  test('a named stream that does not exist, and a KV bucket that does not', async () => {
    const s: NatsStore = { ...store(4222), streams: ['LZ_NATS_MISSING'], kv: [] };
    await expect(snapshotOf(s)).rejects.toThrow(
      'nats: stream LZ_NATS_MISSING does not exist on nats://127.0.0.1:4222/LZ_NATS_MISSING; create it, or remove it from the datastore',
    );
    const k: NatsStore = { ...store(4222), streams: [], kv: ['LZ_NATS_NOBUCKET'] };
    await expect(snapshotOf(k)).rejects.toThrow(
      'KV bucket LZ_NATS_NOBUCKET (stream KV_LZ_NATS_NOBUCKET) does not exist',
    );
  });
});

function emptyInput() {
  return (async function* () {})() as unknown as import('node:stream').Readable;
}

test('NATS: restoring a stream that the target lacks creates it; a store named stream absent from the snapshot is left alone', async () => {
  await fill(4222, 50, 'src', 2);
  const other = await startServer();
  servers.push(other);
  const repo = await Repository.openLocal(path.join(tempDir(), 'repo'), inlineCodec);
  const ref = await repo.storeSnapshot(await adapterFor(store(4222)).snapshot(store(4222), ctx()));
  await withNats(other.port, async (nc) => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'LZ_NATS_EXTRA', subjects: ['lz_nats.extra'] });
    await nc.jetstream().publish('lz_nats.extra', Buffer.from('kept'));
  });
  const wider: NatsStore = { ...store(other.port), streams: [STREAM, 'LZ_NATS_EXTRA'] };
  await adapterFor(wider).restore(wider, repo.openSnapshot(ref), ctx('nats0002'));
  expect(await adapterFor(wider).fingerprint(store(other.port))).toBe(
    await adapterFor(wider).fingerprint(store(4222)),
  );
  expect(await adapterFor(wider).count!(wider, 'LZ_NATS_EXTRA')).toBe(1);
  expect(await adapterFor(wider).count!(wider, STREAM)).toBe(50);
  expect(await leftovers()).toEqual([]);
});

test('NATS: live discovery lists the streams, KV buckets and object stores', async () => {
  await fill(4222, 5, 'src', 1);
  await withNats(4222, async (nc) => {
    const os = await nc.jetstream().views.os('LZ_NATS_FILES');
    await os.putBlob({ name: 'a.txt' }, Buffer.from('file'));
  });
  const found = (await listNatsStores('nats://127.0.0.1:4222'))
    .filter((s) => s.name.includes('lz-nats'))
    .sort((a, b) => a.name.localeCompare(b.name));
  expect(found).toEqual([
    { name: 'kv-lz-nats-cfg', datastore: { kind: 'nats', host: '127.0.0.1', port: 4222, kv: [BUCKET] } },
    { name: 'lz-nats-orders', datastore: { kind: 'nats', host: '127.0.0.1', port: 4222, streams: [STREAM] } },
    {
      name: 'obj-lz-nats-files',
      datastore: { kind: 'nats', host: '127.0.0.1', port: 4222, object_stores: ['LZ_NATS_FILES'] },
    },
  ]);
});

test('NATS: a snapshot point is where each stream stood, and restores like a snapshot', async () => {
  await fill(4222, 30, 'src', 3);
  const dir = tempDir();
  const freeze = { ...ctx('point001'), deadline: Date.now() + 60_000, leaseMs: 30_000, scratchDir: dir };
  const point = await adapterFor(store(4222)).snapshotPoint(store(4222), freeze);
  expect(point.position).toBe(`KV_${BUCKET}@4 ${STREAM}@30`);
  await fill(4222, 40, 'later', 3); // written after the point: not in it
  const repo = await Repository.openLocal(path.join(dir, 'repo'), inlineCodec);
  const ref = await repo.storeSnapshot(await point.open());
  await adapterFor(store(target.port)).restore(store(target.port), repo.openSnapshot(ref), ctx('point001'));
  expect(await adapterFor(store(target.port)).count!(store(target.port), STREAM)).toBe(30);
  expect(await fs.readdir(dir)).toEqual(['repo']); // the spooled point is gone once streamed
});

test('NATS figures: a stream of 10,000 messages and a KV bucket of 1,000 keys, round trip', async () => {
  await fill(4222, 10_000, 'src', 1000);
  const repo = await Repository.openLocal(path.join(tempDir(), 'repo'), inlineCodec);
  const source = store(4222);
  const copy = store(target.port);
  const started = Date.now();
  const ref = await repo.storeSnapshot(await adapterFor(source).snapshot(source, ctx()));
  const snapshotMs = Date.now() - started;
  await adapterFor(copy).restore(copy, repo.openSnapshot(ref), ctx('figures1'));
  const roundTripMs = Date.now() - started;
  const fpStarted = Date.now();
  expect(await adapterFor(copy).fingerprint(copy)).toBe(await adapterFor(source).fingerprint(source));
  const info = await withNats(4222, async (nc) => (await nc.jetstreamManager()).streams.info(STREAM));
  console.log(
    `NATS figures: ${STREAM} 10,000 messages (${info.state.bytes} bytes) + KV 1,001 entries: ` +
      `snapshot ${snapshotMs} ms, round trip ${roundTripMs} ms, snapshot ${ref.size} bytes stored; ` +
      `two fingerprints ${Date.now() - fpStarted} ms`,
  );
});

test('NATS: a live stream taking the same subjects is found before the live stream is deleted', async () => {
  await fill(4222, 20, 'src', 2);
  await fill(target.port, 5, 'old', 2);
  const copy = store(target.port);
  await withNats(target.port, async (nc) => {
    await (await nc.jetstreamManager()).streams.add({ name: 'LZ_NATS_SQUAT', subjects: ['lz_nats.squat'] });
  });
  const repo = await Repository.openLocal(path.join(tempDir(), 'repo'), inlineCodec);
  const ref = await repo.storeSnapshot(await adapterFor(store(4222)).snapshot(store(4222), ctx()));
  // The squatter takes lz_nats.orders.* once the target's own stream is gone: made so here with its subjects.
  await withNats(target.port, async (nc) => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(STREAM);
    await jsm.streams.update('LZ_NATS_SQUAT', { subjects: ['lz_nats.squat', 'lz_nats.orders.3'] });
  });
  const before = await adapterFor(copy).fingerprint(copy);
  await expect(adapterFor(copy).restore(copy, repo.openSnapshot(ref), ctx('nats0001'))).rejects.toThrow(
    `nats: stream LZ_NATS_SQUAT on nats://127.0.0.1:${target.port}/KV_${BUCKET},${STREAM} takes subject lz_nats.orders.3`,
  );
  expect(await adapterFor(copy).fingerprint(copy)).toBe(before);
  expect(await leftovers()).toEqual([]);
  await withNats(target.port, async (nc) => (await nc.jetstreamManager()).streams.delete('LZ_NATS_SQUAT'));
});

test('NATS drills: message_count counts a stream of the sandbox copy; a missing stream fails the check by name', async () => {
  await fill(target.port, 12, 'copy', 1);
  const production: NatsStore = { ...store(4222), sandbox: { host: '127.0.0.1', port: target.port } };
  const input = {
    repository: { location: tempDir() },
    service: 'bus',
    datastore: production,
    target: `127.0.0.1:${target.port}`,
    validators: [
      { message_count: { stream: STREAM, min: 10, max: 12 } },
      { message_count: { stream: `KV_${BUCKET}`, min: 5 } },
      { message_count: { stream: 'LZ_NATS_NONE', min: 1 } },
    ],
    context: {},
  };
  const tools = { adapterFor, runHookOnce: () => Promise.reject(new Error('no hooks here')) };
  const results = await runValidators(
    tools as never,
    input as never,
    {} as never,
    new AbortController().signal,
  );
  expect(results).toEqual([
    { check: `message_count ${STREAM} >= 10`, ok: true, detail: '12' },
    { check: `message_count KV_${BUCKET} >= 5`, ok: false, detail: '2' },
    {
      check: 'message_count LZ_NATS_NONE >= 1',
      ok: false,
      detail: expect.stringContaining(
        `stream LZ_NATS_NONE does not exist on nats://127.0.0.1:${target.port}/`,
      ),
    },
  ]);
});
