/**
 * The d1, kv and r2 kinds against a real workerd (through miniflare) serving a Worker
 * over real HTTP: a round trip into a fresh state directory that a new host serves, a
 * hot backup while the Worker keeps writing, and the datastore contract for each kind.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { Miniflare } from 'miniflare';
import { adapterFor } from '../datastores/adapters';
import type { StoreOf } from '../datastores/registry';
import { blobsDirOf, sqliteFileOf } from '../datastores/shared/miniflare-state';
import type { Datastore } from '../model/manifest';
import { ctx, datastoreContract } from './contracts/datastore';
import { tempDir } from './support/stores';

process.env.WRANGLER_SEND_METRICS = 'false';

const DATABASE_ID = 'notes-db-1';
const NAMESPACE_ID = 'notes-kv-1';
const BUCKET = 'notes-bucket';

/**
 * Every POST /write writes one note to each binding, and overwrites a `last` key and
 * object (so that value files are deleted while a backup runs). GET /read answers it all.
 */
const WORKER = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method === 'POST' && url.pathname === '/write') {
      const body = await request.text();
      await env.DB.exec('CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)');
      const { meta } = await env.DB.prepare('INSERT INTO notes (body) VALUES (?)').bind(body).run();
      const id = meta.last_row_id;
      await env.KV.put('note:' + id, body, { metadata: { id } });
      await env.KV.put('last', body);
      await env.BUCKET.put('notes/' + id + '.txt', body, { customMetadata: { id: String(id) } });
      await env.BUCKET.put('last.txt', body);
      return Response.json({ id });
    }
    if (request.method === 'POST' && url.pathname === '/multipart') {
      const upload = await env.BUCKET.createMultipartUpload('big.bin');
      const one = await upload.uploadPart(1, new Uint8Array(5 * 1024 * 1024).fill(7));
      const two = await upload.uploadPart(2, 'the tail');
      await upload.complete([one, two]);
      return new Response('ok');
    }
    if (url.pathname === '/read') {
      const notes = (await env.DB.prepare('SELECT id, body FROM notes ORDER BY id').all()).results;
      const keys = [];
      for (let cursor; ; ) {
        const page = await env.KV.list({ prefix: 'note:', cursor });
        keys.push(...page.keys.map((k) => k.name + '=' + JSON.stringify(k.metadata)));
        if (page.list_complete) break;
        cursor = page.cursor;
      }
      const objects = (await env.BUCKET.list({ prefix: 'notes/' })).objects.map((o) => o.key);
      const big = await env.BUCKET.get('big.bin');
      return Response.json({
        notes, keys, objects,
        last: await env.KV.get('last'),
        lastObject: await (await env.BUCKET.get('last.txt'))?.text(),
        big: big ? big.size : null,
      });
    }
    return new Response('not found', { status: 404 });
  },
};`;

/** A workerd host of the Worker, its data under `state`; stopped by `dispose`. */
async function startHost(state: string): Promise<{ mf: Miniflare; url: URL }> {
  const mf = new Miniflare({
    modules: true,
    script: WORKER,
    compatibilityDate: '2025-01-01',
    d1Databases: { DB: DATABASE_ID },
    kvNamespaces: { KV: NAMESPACE_ID },
    r2Buckets: { BUCKET },
    defaultPersistRoot: state,
    host: '127.0.0.1',
    port: 0,
  });
  try {
    return { mf, url: await mf.ready };
  } catch (err) {
    await mf.dispose();
    throw err;
  }
}

/** Runs `work` against a host on `state`, and always stops it. */
async function withHost<T>(state: string, work: (url: URL) => Promise<T>): Promise<T> {
  const { mf, url } = await startHost(state);
  try {
    return await work(url);
  } finally {
    await mf.dispose();
  }
}

async function write(url: URL, body: string): Promise<number> {
  const res = await fetch(new URL('/write', url), { method: 'POST', body });
  if (res.status !== 200) throw new Error(`POST /write answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: number }).id;
}

interface Served {
  notes: { id: number; body: string }[];
  keys: string[];
  objects: string[];
  last: string | null;
  lastObject: string | null;
  big: number | null;
}

async function read(url: URL): Promise<Served> {
  const res = await fetch(new URL('/read', url));
  expect(res.status).toBe(200);
  return (await res.json()) as Served;
}

function storesIn(state: string) {
  return {
    d1: { kind: 'd1', path: state, database_id: DATABASE_ID },
    kv: { kind: 'kv', path: state, namespace_id: NAMESPACE_ID },
    r2: { kind: 'r2', path: state, bucket: BUCKET },
  } as const satisfies Record<string, Datastore>;
}

const KINDS = ['d1', 'kv', 'r2'] as const;

/** A snapshot of `from` restored straight into `to` (the repository is the contract's business). */
async function copyStore(from: Datastore, to: Datastore, stagingId: string): Promise<void> {
  const adapter = adapterFor(from);
  const snapshot: Readable = await adapter.snapshot(from, ctx(stagingId));
  await adapter.restore(to, snapshot, ctx(stagingId));
}

describe('a Worker on workerd, its D1, KV and R2 data', () => {
  test('files are where the layout says: the ids real workerd gave them', async () => {
    const state = tempDir();
    await withHost(state, (url) => write(url, 'first'));
    await expect(fs.stat(sqliteFileOf('d1', state, DATABASE_ID))).resolves.toBeDefined();
    await expect(fs.stat(sqliteFileOf('kv', state, NAMESPACE_ID))).resolves.toBeDefined();
    await expect(fs.stat(sqliteFileOf('r2', state, BUCKET))).resolves.toBeDefined();
    expect(await fs.readdir(blobsDirOf('kv', state, NAMESPACE_ID))).toHaveLength(2); // note:1 and last
    expect(await fs.readdir(blobsDirOf('r2', state, BUCKET))).toHaveLength(2);
  });

  test('a round trip into a fresh state directory gives equal fingerprints, and a new host serves the data', async () => {
    const state = tempDir();
    const served = await withHost(state, async (url) => {
      for (let i = 1; i <= 25; i++) await write(url, `note ${i}`);
      expect((await fetch(new URL('/multipart', url), { method: 'POST' })).status).toBe(200);
      return read(url);
    });
    expect(served.notes).toHaveLength(25);
    expect(served.big).toBe(5 * 1024 * 1024 + 'the tail'.length);

    const fresh = path.join(tempDir(), 'restored-state');
    const source = storesIn(state);
    const target = storesIn(fresh);
    for (const kind of KINDS) {
      await copyStore(source[kind], target[kind], 'trip0001');
      expect(await adapterFor(target[kind]).fingerprint(target[kind])).toBe(
        await adapterFor(source[kind]).fingerprint(source[kind]),
      );
    }
    expect(await withHost(fresh, read)).toEqual(served);
  });

  test('a hot backup while the Worker keeps writing restores a prefix of the writes, intact', async () => {
    const state = tempDir();
    const { mf, url } = await startHost(state);
    let restoredFrom: { acknowledgedBefore: number; acknowledgedAfter: number; total: number };
    const fresh = path.join(tempDir(), 'restored-state');
    try {
      let acknowledged = 0;
      let stop = false;
      const writer = (async () => {
        while (!stop) acknowledged = await write(url, `note ${acknowledged + 1}`);
      })();
      try {
        while (acknowledged < 40) await new Promise((resolve) => setTimeout(resolve, 10));
        const acknowledgedBefore = acknowledged;
        const source = storesIn(state);
        const target = storesIn(fresh);
        // Snapshots taken while writes go on (restored only after all three are taken).
        const snapshots = [];
        for (const kind of KINDS) {
          const snapshot = await adapterFor(source[kind]).snapshot(source[kind], ctx('hot00001'));
          const file = path.join(tempDir(), `${kind}.snapshot`);
          await fs.writeFile(file, snapshot);
          snapshots.push({ kind, file });
        }
        const acknowledgedAfter = acknowledged;
        while (acknowledged < acknowledgedAfter + 20) await new Promise((resolve) => setTimeout(resolve, 10));
        stop = true;
        await writer;
        for (const { kind, file } of snapshots) {
          await adapterFor(target[kind]).restore(target[kind], createReadStream(file), ctx('hot00001'));
        }
        restoredFrom = { acknowledgedBefore, acknowledgedAfter, total: acknowledged };
      } finally {
        stop = true;
        await writer.catch(() => {});
      }
    } finally {
      await mf.dispose();
    }

    const db = new Database(sqliteFileOf('d1', fresh, DATABASE_ID), { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
    const { acknowledgedBefore, acknowledgedAfter, total } = restoredFrom!;
    const served = await withHost(fresh, read);
    const ids = served.notes.map((n) => n.id);
    const keys = served.keys.map((k) => Number(/^note:(\d+)=/.exec(k)![1])).sort((a, b) => a - b);
    const objects = served.objects
      .map((o) => Number(/^notes\/(\d+)\.txt$/.exec(o)![1]))
      .sort((a, b) => a - b);
    for (const written of [ids, keys, objects]) {
      // Every write up to some moment during the backup, and none after it.
      expect(written).toEqual(Array.from({ length: written.length }, (_, i) => i + 1));
      expect(written.length).toBeGreaterThanOrEqual(acknowledgedBefore);
      expect(written.length).toBeLessThanOrEqual(acknowledgedAfter + 1);
      expect(written.length).toBeLessThan(total);
    }
    // The value that was overwritten on every write is there, as of the same moment.
    expect([`note ${keys.length}`, `note ${keys.length - 1}`]).toContain(served.last);
    expect([`note ${objects.length}`, `note ${objects.length - 1}`]).toContain(served.lastObject);
    expect(served.notes.every((n) => n.body === `note ${n.id}`)).toBe(true);
  });
});

/**
 * State directories written by a real host, once: the source's data, and other data for
 * the target; each contract test gets fresh copies of them.
 */
let seeded: Promise<{ source: string; target: string }> | undefined;

function seed(): Promise<{ source: string; target: string }> {
  seeded ??= (async () => {
    const source = path.join(tempDir(), 'state');
    await withHost(source, async (url) => {
      for (let i = 1; i <= 60; i++) await write(url, `source note ${i} ${'x'.repeat(i * 50)}`);
      expect((await fetch(new URL('/multipart', url), { method: 'POST' })).status).toBe(200);
    });
    const target = path.join(tempDir(), 'state');
    await withHost(target, async (url) => {
      for (let i = 1; i <= 3; i++) await write(url, `old note ${i}`);
    });
    return { source, target };
  })();
  return seeded;
}

/** What a restore left beside the resource's files: staging and set-aside names, and value files no key references. */
async function leftoversOf(store: Datastore): Promise<unknown[]> {
  const found: string[] = [];
  const beside = async (file: string) => {
    const names = await fs.readdir(path.dirname(file)).catch(() => [] as string[]);
    const base = path.basename(file);
    found.push(...names.filter((n) => n.startsWith(`${base}.lazarus-`)));
  };
  if (store.kind === 'd1') await beside(sqliteFileOf('d1', store.path, store.database_id));
  if (store.kind === 'kv' || store.kind === 'r2') {
    const id = store.kind === 'kv' ? store.namespace_id : store.bucket;
    const index = sqliteFileOf(store.kind, store.path, id);
    const blobs = blobsDirOf(store.kind, store.path, id);
    await beside(index);
    await beside(blobs);
    const referenced = new Set(
      withIndex(
        index,
        (db) =>
          db
            .prepare(
              store.kind === 'kv'
                ? 'SELECT blob_id FROM _mf_entries'
                : 'SELECT blob_id FROM _mf_objects WHERE blob_id IS NOT NULL UNION SELECT blob_id FROM _mf_multipart_parts',
            )
            .pluck()
            .all() as string[],
      ),
    );
    const files = await fs.readdir(blobs).catch(() => [] as string[]);
    found.push(...files.filter((f) => !referenced.has(f)).map((f) => `unreferenced value file ${f}`));
  }
  return found;
}

function withIndex<T>(file: string, read: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

function contractFor<K extends (typeof KINDS)[number]>(kind: K): void {
  datastoreContract(kind, {
    async stores() {
      const { source, target } = await seed();
      const dir = tempDir();
      await fs.cp(source, path.join(dir, 'source'), { recursive: true });
      await fs.cp(target, path.join(dir, 'target'), { recursive: true });
      return {
        source: storesIn(path.join(dir, 'source'))[kind] as StoreOf<K>,
        target: storesIn(path.join(dir, 'target'))[kind] as StoreOf<K>,
      };
    },
    leftovers: (target) => leftoversOf(target),
    async checkRestored(restored) {
      const target = restored as StoreOf<(typeof KINDS)[number]>;
      // The old target's journals are gone with it: workerd would replay them into the new file.
      const file = sqliteFileOf(kind, target.path, idOf(target));
      for (const journal of ['-wal', '-shm', '-journal'])
        await expect(fs.stat(file + journal)).rejects.toThrow(/ENOENT/);
      expect(
        await adapterFor(target).count!(
          target,
          kind === 'd1' ? 'notes' : kind === 'kv' ? 'note:*' : 'notes/',
        ),
      ).toBe(60);
    },
  });
}

function idOf(store: Datastore): string {
  if (store.kind === 'd1') return store.database_id;
  if (store.kind === 'kv') return store.namespace_id;
  if (store.kind === 'r2') return store.bucket;
  throw new Error(`not a workerd resource: ${store.kind}`);
}

for (const kind of KINDS) contractFor(kind);

test('holdsData: an absent resource holds nothing, a written one does; drop removes only its own files', async () => {
  const { source } = await seed();
  const state = path.join(tempDir(), 'state');
  await fs.cp(source, state, { recursive: true });
  const stores = storesIn(state);
  const elsewhere = storesIn(path.join(tempDir(), 'never-run'));
  for (const kind of KINDS) {
    expect(await adapterFor(elsewhere[kind]).holdsData(elsewhere[kind])).toBe(false);
    expect(await adapterFor(stores[kind]).holdsData(stores[kind])).toBe(true);
  }
  await adapterFor(stores.kv).drop(stores.kv);
  expect(await adapterFor(stores.kv).holdsData(stores.kv)).toBe(false);
  expect(await adapterFor(stores.d1).holdsData(stores.d1)).toBe(true);
  expect(await adapterFor(stores.r2).count!(stores.r2, '')).toBe(62); // 60 notes, last.txt, big.bin
});

/**
 * A restore killed in the middle of its swap, at the two places that matter: before the
 * index is renamed in (the old data must come back whole) and after (the new data must
 * stay, without the old files). The half-done states are laid out as the restore leaves
 * them (datastores/shared/blob-index.ts); discard, or the next attempt, settles them.
 */
describe.each(['kv', 'r2'] as const)('%s: a restore that crashed mid-swap', (kind) => {
  async function halfSwapped(commit: boolean) {
    const { source, target } = await seed();
    const dir = tempDir();
    await fs.cp(source, path.join(dir, 'source'), { recursive: true });
    await fs.cp(target, path.join(dir, 'target'), { recursive: true });
    const from = storesIn(path.join(dir, 'source'))[kind];
    const to = storesIn(path.join(dir, 'target'))[kind];
    const adapter = adapterFor<Datastore>(to);
    const before = { old: await adapter.fingerprint(to), new: await adapter.fingerprint(from) };
    const id = idOf(to);
    const index = sqliteFileOf(kind, to.path, id);
    const blobs = blobsDirOf(kind, to.path, id);
    const unpacked = `${blobs}.lazarus-staging-crash001`;
    await fs.mkdir(unpacked, { recursive: true });
    const tar = spawnSync('tar', ['-x', '-C', unpacked], {
      input: await streamToBuffer(await adapter.snapshot(from, ctx('crash001'))),
    });
    expect(tar.status).toBe(0);
    await fs.rename(path.join(unpacked, 'index.sqlite'), `${index}.lazarus-staging-crash001`);
    for (const blob of await fs.readdir(path.join(unpacked, 'blobs')))
      await fs.rename(path.join(unpacked, 'blobs', blob), path.join(blobs, blob));
    await fs.rename(index, `${index}.lazarus-old-crash001`);
    await fs.rename(`${index}-wal`, `${index}.lazarus-old-crash001-wal`);
    if (commit) await fs.rename(`${index}.lazarus-staging-crash001`, index);
    return { to, adapter, before };
  }

  test('before the index is swapped in: discard puts the old data back, whole', async () => {
    const { to, adapter, before } = await halfSwapped(false);
    await adapter.discard(to, ctx('crash001'));
    expect(await adapter.fingerprint(to)).toBe(before.old);
    expect(await leftoversOf(to)).toEqual([]);
  });

  test('after the index is swapped in: discard keeps the new data and removes the old files', async () => {
    const { to, adapter, before } = await halfSwapped(true);
    await adapter.discard(to, ctx('crash001'));
    expect(await adapter.fingerprint(to)).toBe(before.new);
    expect(await leftoversOf(to)).toEqual([]);
  });
});

test('d1: a restore that crashed after setting the old database aside gets it back with its WAL', async () => {
  const { target } = await seed();
  const state = path.join(tempDir(), 'state');
  await fs.cp(target, state, { recursive: true });
  const store = storesIn(state).d1;
  const before = await adapterFor(store).fingerprint(store);
  const file = sqliteFileOf('d1', state, DATABASE_ID);
  // workerd never checkpoints: the rows are in the WAL, which the main file alone lacks.
  expect((await fs.stat(`${file}-wal`)).size).toBeGreaterThan(0);
  await fs.rename(file, `${file}.lazarus-old-crash001`);
  await fs.rename(`${file}-wal`, `${file}.lazarus-old-crash001-wal`);
  await adapterFor(store).discard(store, ctx('crash001'));
  expect(await adapterFor(store).fingerprint(store)).toBe(before);
  expect(await leftoversOf(store)).toEqual([]);
});

async function streamToBuffer(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
