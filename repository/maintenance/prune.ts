/**
 * `lazarus prune`: deletes what no backup references, under the exclusive lock.
 *
 * The order makes it crash-safe: killed at any point, no referenced blob is lost, and a
 * rerun completes the work.
 *   1. Find every referenced blob (all applications' catalogs and trees).
 *   2. Copy the referenced blobs of mostly-unused packs into new packs (repack).
 *   3. Write new index files for every pack kept; only then
 *   4. remove the old index files; only then
 *   5. delete the packs no new index lists, and unreferenced first-format objects.
 * A crash before 4 leaves both indexes (duplicates, harmless); before 5, packs no index
 * lists, which the next prune deletes. A stored pack that no index lists but that holds a
 * referenced blob found nowhere else (an index file lost) is indexed again, not deleted.
 */
import type { StorageBackend } from '../storage/backend';
import type { IndexedPack } from '../engine/blob-index';
import { LEGACY_OBJECTS_PREFIX, PACKS_PREFIX, legacyObjectKey, packIdOf, packKey } from '../layout';
import { whileLocked } from '../records/locks';
import { PackWriter, readPackHeader } from '../engine/pack';
import type { RepositoryLayers } from './layers';
import { readTree } from '../engine/snapshot-reader';
import { type SnapshotUses, snapshotUses } from './usage';
import { snapshotsOf } from '../records/streams';
import { bundlesOf } from '../records/functions';
import { UserError } from '../../model/errors';

/** What prune reads of a repository. */
type PrunedRepository = Pick<RepositoryLayers, 'engine' | 'catalog' | 'records' | 'streams' | 'functions'>;

/** A pack with more than this share of unreferenced bytes is rewritten. */
const REPACK_THRESHOLD = 0.1;
const PACKS_PER_INDEX_FILE = 500;

export interface PruneReport {
  dryRun: boolean;
  packs: {
    before: number;
    kept: number;
    deleted: number;
    repacked: number;
    written: number;
    recovered: number;
  };
  bytes: { before: number; after: number; freed: number };
  indexFiles: { before: number; after: number };
  legacyObjectsDeleted: number;
}

interface Plan {
  keep: IndexedPack[];
  repack: IndexedPack[];
  remove: string[];
  recovered: IndexedPack[];
  legacyGarbage: string[];
  bytesBefore: number;
  indexFilesBefore: number;
}

export async function prune(
  repo: PrunedRepository,
  options: { dryRun?: boolean } = {},
): Promise<PruneReport> {
  if (options.dryRun) return report(await planPrune(repo), [], 0, true);
  return whileLocked(repo, 'exclusive', 'prune', async () => {
    const plan = await planPrune(repo);
    const oldIndexFiles = [...repo.engine.index.indexFiles.keys()];
    const written = await repack(repo, plan.repack);
    const kept = [...plan.keep, ...plan.recovered, ...written];
    const newIndexFiles = new Set<string>();
    for (let i = 0; i < kept.length; i += PACKS_PER_INDEX_FILE) {
      newIndexFiles.add(await repo.engine.index.write(kept.slice(i, i + PACKS_PER_INDEX_FILE)));
    }
    for (const key of oldIndexFiles) if (!newIndexFiles.has(key)) await repo.engine.backend.remove(key);
    for (const id of [...plan.remove, ...plan.repack.map((p) => p.id)])
      await repo.engine.backend.remove(packKey(id));
    for (const sha256 of plan.legacyGarbage) await repo.engine.backend.remove(legacyObjectKey(sha256));
    await repo.engine.index.load();
    return report(plan, written, repo.engine.index.indexFiles.size, false);
  });
}

async function planPrune(repo: PrunedRepository): Promise<Plan> {
  await repo.engine.index.load();
  const uses = snapshotUses(await repo.catalog.list(), [
    ...snapshotsOf(await repo.streams.all()),
    ...bundlesOf(await repo.functions.all()),
  ]);
  const used = await referencedBlobs(repo, uses.trees);
  const stored = new Map<string, number>();
  for await (const { key, size } of repo.engine.backend.list(PACKS_PREFIX)) stored.set(packIdOf(key), size);
  const indexed = repo.engine.index.packs();
  const plan: Plan = {
    keep: [],
    repack: [],
    remove: [],
    recovered: [],
    legacyGarbage: [],
    bytesBefore: 0,
    indexFilesBefore: repo.engine.index.indexFiles.size,
  };
  for (const size of stored.values()) plan.bytesBefore += size;

  for (const pack of indexed.values()) {
    if (!stored.has(pack.id)) continue; // missing: verify reports it; nothing to delete
    const needed = pack.blobs.filter((b) => used.has(b.id) && repo.engine.index.find(b.id)?.pack === pack.id);
    const unusedBytes = pack.blobs.filter((b) => !needed.includes(b)).reduce((n, b) => n + b.length, 0);
    if (needed.length === 0) plan.remove.push(pack.id);
    else if (unusedBytes > REPACK_THRESHOLD * pack.size) plan.repack.push({ ...pack, blobs: needed });
    else plan.keep.push(pack);
  }
  for (const [id, size] of stored) {
    if (indexed.has(id)) continue;
    const blobs = await readPackHeader(
      size,
      (offset, length) => repo.engine.backend.read(packKey(id), { offset, length }),
      repo.engine.seal,
    ).catch(() => undefined);
    if (!blobs) continue; // unreadable: not ours to judge; verify reports what it affects
    const lost = blobs.some((b) => used.has(b.id) && !repo.engine.index.has(b.id));
    if (lost) plan.recovered.push({ id, size, blobs });
    else plan.remove.push(id);
  }
  plan.legacyGarbage = await legacyGarbage(repo.engine.backend, uses.legacy);
  return plan;
}

/** Every blob some backup of any application needs: its tree and its chunks. */
async function referencedBlobs(repo: PrunedRepository, trees: SnapshotUses['trees']): Promise<Set<string>> {
  const parts = repo.engine;
  const used = new Set<string>();
  for (const [treeId, { users }] of trees) {
    used.add(treeId);
    let chunks: string[];
    try {
      chunks = await readTree(parts, treeId);
    } catch (err) {
      // Without every tree, what is unreferenced cannot be known: delete nothing.
      const user = users[0];
      throw new UserError(
        `prune stopped before deleting anything: the snapshot of ${user.service} in backup ${user.app}/${user.backupId} ` +
          `cannot be read (${(err as Error).message}); run "lazarus verify" to see what is damaged`,
      );
    }
    for (const id of chunks) used.add(id);
  }
  return used;
}

/** Copies the needed blobs of each pack, checked on the way, into new packs. */
async function repack(repo: PrunedRepository, packs: IndexedPack[]): Promise<IndexedPack[]> {
  const written: IndexedPack[] = [];
  let writer = new PackWriter(repo.engine.seal);
  const flush = async () => {
    if (writer.count === 0) return;
    const { id, data, entries } = writer.finish();
    await repo.engine.backend.put(packKey(id), data);
    written.push({ id, size: data.length, blobs: entries });
    writer = new PackWriter(repo.engine.seal);
  };
  for (const pack of packs) {
    const data = await repo.engine.backend.read(packKey(pack.id));
    for (const blob of pack.blobs) {
      const stored = Buffer.from(data.subarray(blob.offset, blob.offset + blob.length));
      await repo.engine.codec.decode(Buffer.from(stored), blob.id).catch((err: Error) => {
        throw new UserError(
          `prune stopped before deleting anything: blob ${blob.id.slice(0, 12)} in pack ${pack.id.slice(0, 12)} is damaged ` +
            `(${err.message}); run "lazarus verify --read-data"`,
        );
      });
      writer.add(blob.id, blob.type, stored, blob.rawLength);
      if (writer.bytes >= 16 << 20) await flush();
    }
  }
  await flush();
  return written;
}

async function legacyGarbage(backend: StorageBackend, referenced: Map<string, unknown>): Promise<string[]> {
  const garbage: string[] = [];
  for await (const { key } of backend.list(LEGACY_OBJECTS_PREFIX)) {
    const sha256 = key.split('/').pop()!; // objects/<ab>/<sha256>
    if (!referenced.has(sha256)) garbage.push(sha256);
  }
  return garbage;
}

function report(plan: Plan, written: IndexedPack[], indexFilesAfter: number, dryRun: boolean): PruneReport {
  const keptBytes = [...plan.keep, ...plan.recovered, ...written].reduce((n, p) => n + p.size, 0);
  const repackedEstimate = dryRun
    ? plan.repack.reduce((n, p) => n + p.blobs.reduce((m, b) => m + b.length, 0), 0)
    : 0;
  const after = keptBytes + repackedEstimate;
  return {
    dryRun,
    packs: {
      before: plan.keep.length + plan.repack.length + plan.remove.length + plan.recovered.length,
      kept: plan.keep.length + plan.recovered.length,
      deleted: plan.remove.length,
      repacked: plan.repack.length,
      written: written.length,
      recovered: plan.recovered.length,
    },
    bytes: { before: plan.bytesBefore, after, freed: plan.bytesBefore - after },
    indexFiles: { before: plan.indexFilesBefore, after: dryRun ? plan.indexFilesBefore : indexFilesAfter },
    legacyObjectsDeleted: dryRun ? 0 : plan.legacyGarbage.length,
  };
}
