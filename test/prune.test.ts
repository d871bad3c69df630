/**
 * Prune deletes what nothing references, and nothing else: killed at random points (its
 * process kills itself after its Nth write or delete), it loses no referenced chunk, and
 * a rerun completes it. It also stands back while a backup holds the repository.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { acquireLock, releaseLock } from '../repository/records/locks';
import type { SnapshotRef } from '../repository/records/catalog';
import { prune } from '../repository/maintenance/prune';
import { Repository } from '../repository/repository';
import { lazarus } from './support/cli';
import { countingWrites } from './support/failpoint-backend';
import { pruneKilledAfter } from './support/prune-killed';
import { catalogEntry } from '../repository/testing';
import { packFiles } from './support/repository';
import { tempDir, writeManifest } from './support/stores';

const password = 'prune test';
const options = {
  chunking: { minSize: 16 << 10, avgSize: 64 << 10, maxSize: 256 << 10 },
  packSize: 256 << 10,
  kdf: { N: 2 ** 10, r: 8, p: 1 },
  password,
};
const env = { LAZARUS_PASSWORD: password };

function rows(count: number, seed: number): Buffer {
  const lines = [];
  for (let i = 0; i < count; i++)
    lines.push(`${i}\t${(i * 7919 + seed) % 1_000_003}\t${'x'.repeat(i % 50)}\n`);
  return Buffer.from(lines.join(''));
}

const entry = (id: string, services: Record<string, SnapshotRef>) =>
  catalogEntry(id, services, `2026-11-2${id.slice(-1)}T00:00:00.000Z`);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function contents(repo: Repository, ref: SnapshotRef): Promise<string> {
  const hash = createHash('sha256');
  for await (const part of repo.openSnapshot(ref)) hash.update(part as Buffer);
  return hash.digest('hex');
}

async function bytesOf(root: string): Promise<number> {
  let total = 0;
  for (const file of await packFiles(root)) total += (await fs.stat(file)).size;
  return total;
}

let original: string;
let manifestDir: string;
const kept: Record<string, { ref: SnapshotRef; sha256: string }> = {};

/** Three backups sharing much of their data; the first is then forgotten. */
beforeAll(async () => {
  manifestDir = tempDir();
  original = path.join(manifestDir, 'original');
  const repo = await Repository.openLocal(original, options);
  const a = rows(60_000, 1);
  // b keeps a's first and last thirds: a's middle third is used by b1 only (mixed packs, to
  // rewrite); the old media only by b1 (whole packs, to delete).
  const third = Math.floor(a.length / 3);
  const b = Buffer.concat([a.subarray(0, third), rows(20_000, 2), a.subarray(2 * third)]);
  const [oldMedia, media] = [randomBytes(1 << 20), randomBytes(1 << 20)];
  const store = async (data: Buffer) => repo.storeSnapshot(Readable.from([data]));
  const [refA, refOldMedia, refB, refMedia] = [
    await store(a),
    await store(oldMedia),
    await store(b),
    await store(media),
  ];
  await repo.saveBackup(entry('b1', { orders: refA, media: refOldMedia }));
  await repo.saveBackup(entry('b2', { orders: refB }));
  await repo.saveBackup(entry('b3', { orders: refB, media: refMedia }));
  await repo.removeBackup('shop', 'b1');
  kept.orders = { ref: refB, sha256: sha256(b) };
  kept.media = { ref: refMedia, sha256: sha256(media) };
  await repo.close();
});

async function copyOfOriginal(): Promise<{ root: string; manifest: string }> {
  const dir = tempDir();
  const root = path.join(dir, 'repo');
  await fs.cp(original, root, { recursive: true });
  const manifest = await writeManifest(dir, {
    app: 'shop',
    repository: { path: 'repo' },
    services: { orders: { datastore: { kind: 'sqlite', path: 'orders.db' } } },
  });
  return { root, manifest };
}

/** Every kept snapshot reads back exactly, and verify reads every pack without a problem. */
async function expectIntact(root: string): Promise<void> {
  const repo = await Repository.openLocal(root, options);
  for (const { ref, sha256: expected } of Object.values(kept))
    expect(await contents(repo, ref)).toBe(expected);
  expect((await repo.verify({ readData: true })).problems).toEqual([]);
  await repo.close();
}

let completeBytes: number;
let writesOfAFullPrune: number;

test('prune frees what only forgotten backups used, rewrites mixed packs, and keeps the rest', async () => {
  const { root, manifest } = await copyOfOriginal();
  const dryRun = lazarus(['prune', manifest, '--dry-run', '--json'], env);
  expect(dryRun.stderr).toBe('');
  const dry = JSON.parse(dryRun.stdout);
  expect(dry.dryRun).toBe(true);
  expect(await bytesOf(root)).toBe(dry.bytes.before);

  const counter = countingWrites();
  const repo = await Repository.openLocal(root, { ...options, wrappers: [counter.wrap] });
  const report = await prune(repo);
  writesOfAFullPrune = counter.writes();
  await repo.close();
  expect(report.packs.deleted).toBeGreaterThan(0);
  expect(report.packs.repacked).toBeGreaterThan(0);
  completeBytes = await bytesOf(root);
  expect(completeBytes).toBe(report.bytes.after);
  expect(completeBytes).toBeLessThan(dry.bytes.before);
  await expectIntact(root);

  // A second prune finds nothing to do.
  const again = JSON.parse(lazarus(['prune', manifest, '--json'], env).stdout);
  expect(again.packs).toMatchObject({ deleted: 0, repacked: 0 });
  expect(await bytesOf(root)).toBe(completeBytes);
});

test('prune killed at random points loses nothing, and a rerun completes it', async () => {
  expect(writesOfAFullPrune).toBeGreaterThan(5);
  const points = new Set<number>([1, writesOfAFullPrune - 1]);
  while (points.size < Math.min(8, writesOfAFullPrune - 1))
    points.add(1 + Math.floor(Math.random() * (writesOfAFullPrune - 1)));
  for (const point of points) {
    const { root, manifest } = await copyOfOriginal();
    const killed = pruneKilledAfter(root, point, env);
    expect({ point, signal: killed.signal }).toEqual({ point, signal: 'SIGKILL' });
    await expectIntact(root);
    // The killed prune's lock names a dead process of this host: the rerun does not wait for it.
    const rerun = lazarus(['prune', manifest, '--json'], env);
    expect({ point, code: rerun.code, stderr: rerun.stderr }).toEqual({ point, code: 0, stderr: '' });
    await expectIntact(root);
    expect({ point, bytes: await bytesOf(root) }).toEqual({ point, bytes: completeBytes });
  }
});

test('prune stands back while a backup holds the repository, and a backup waits out a prune', async () => {
  const { root, manifest } = await copyOfOriginal();
  const repo = await Repository.openLocal(root, options);
  await acquireLock(repo, 'shared', 'backup/shop/2026-11-21T10:00:00.000Z');
  const refused = lazarus(['prune', manifest], env);
  expect(refused.code).toBe(4);
  expect(refused.stderr).toMatch(
    /locked by backup\/shop\/2026-11-21T10:00:00.000Z .*try again when it has finished/,
  );
  await releaseLock(repo, 'backup/shop/2026-11-21T10:00:00.000Z');

  await acquireLock(repo, 'exclusive', 'prune', true);
  await expect(acquireLock(repo, 'shared', 'backup/shop/x')).rejects.toThrow(/locked by a prune/);
  await releaseLock(repo, 'prune');
  await acquireLock(repo, 'shared', 'backup/shop/x');
  await repo.close();
});
