/**
 * `lazarus verify`: the structure check (every index readable, every indexed pack stored
 * whole, every pack's own header agreeing with the index, every snapshot's tree and
 * chunks indexed) and, with readData, the content check (each pack read, its SHA-256
 * compared with its name, each blob opened, decompressed and re-hashed). Every problem
 * names the backups and services it affects.
 */
import { createHash, randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import type { IndexedPack } from '../engine/blob-index';
import { PACKS_PREFIX, legacyObjectKey, packIdOf, packKey } from '../layout';
import type { BackupEntry } from '../records/catalog';
import { readPackHeader } from '../engine/pack';
import type { RepositoryLayers } from './layers';
import { readTree } from '../engine/snapshot-reader';
import { type SnapshotUser, snapshotUses } from './usage';
import { bundlesOf } from '../records/functions';
import { snapshotsOf } from '../records/streams';
import { streamProblems } from './stream-gaps';

/** What verify reads of a repository. */
type CheckedRepository = Pick<RepositoryLayers, 'engine' | 'catalog' | 'streams' | 'functions'>;

const PACKS_IN_FLIGHT = 3;

export interface VerifyOptions {
  /** Read and re-hash the data too. */
  readData?: boolean;
  /** With readData: the fraction of packs to read, chosen at random (0.1 for --subset 10%). */
  subset?: number;
  /** With readData: orders the packs for the subset; the same seed picks the same packs. */
  seed?: string;
  /** With readData: only every `count`-th chosen pack from `index` (a workflow's batch). */
  batch?: { index: number; count: number };
  /** Skips the structure check (a workflow's data batches: the structure was checked once). */
  dataOnly?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export type AffectedService = SnapshotUser;

export interface VerifyProblem {
  /** What is damaged: "pack 1a2b…", "blob 3c4d…", "index index/…", "snapshot 5e6f…". */
  subject: string;
  problem: string;
  affects: AffectedService[];
}

export interface VerifyReport {
  backups: number;
  snapshots: number;
  packs: number;
  blobs: number;
  /** Packs read and re-hashed, and their bytes (readData). */
  packsRead: number;
  bytesRead: number;
  /** Packs stored but in no index: left by an interrupted backup, for prune. */
  unindexedPacks: number;
  problems: VerifyProblem[];
}

/** Which backups and services use each blob, and each snapshot. */
class BlobUsers {
  private readonly byBlob = new Map<string, AffectedService[]>();

  add(id: string, user: AffectedService): void {
    const users = this.byBlob.get(id) ?? [];
    users.push(user);
    this.byBlob.set(id, users);
  }

  of(ids: Iterable<string>): AffectedService[] {
    const seen = new Map<string, AffectedService>();
    for (const id of ids) {
      for (const user of this.byBlob.get(id) ?? [])
        seen.set(`${user.app}/${user.backupId}/${user.service}`, user);
    }
    return [...seen.values()];
  }
}

export async function checkRepository(
  repo: CheckedRepository,
  options: VerifyOptions,
): Promise<VerifyReport> {
  const structural: VerifyProblem[] = [];
  try {
    await repo.engine.index.load();
  } catch (err) {
    structural.push({ subject: 'index', problem: (err as Error).message, affects: [] });
  }
  const backups = await repo.catalog.list();
  const usage = new BlobUsers();
  const snapshots = await collectUsage(repo, backups, usage, structural);
  const indexed = repo.engine.index.packs();
  const stored = new Map<string, number>();
  for await (const { key, size } of repo.engine.backend.list(PACKS_PREFIX)) stored.set(packIdOf(key), size);

  if (!options.dataOnly) await checkPacks(repo, indexed, stored, usage, structural);
  // A data batch of a workflow reports only what it read: the structure was reported once.
  const problems = options.dataOnly ? [] : structural;
  const report: VerifyReport = {
    backups: backups.length,
    snapshots,
    packs: indexed.size,
    blobs: repo.engine.index.blobCount,
    packsRead: 0,
    bytesRead: 0,
    unindexedPacks: [...stored.keys()].filter((id) => !indexed.has(id)).length,
    problems,
  };
  if (options.readData) {
    const chosen = choosePacks(
      [...indexed.values()].filter((p) => stored.get(p.id) === p.size),
      options,
    );
    // A few packs in flight: the next is read while the codec workers open the last.
    const limit = pLimit(PACKS_IN_FLIGHT);
    await Promise.all(
      chosen.map((pack) =>
        limit(async () => {
          problems.push(...(await readPack(repo, pack, usage)));
          report.packsRead++;
          report.bytesRead += pack.size;
          options.onProgress?.(report.packsRead, chosen.length);
        }),
      ),
    );
  }
  return report;
}

/** Reads every snapshot's tree; a tree or chunk missing from the index is a problem. */
async function collectUsage(
  repo: CheckedRepository,
  backups: BackupEntry[],
  usage: BlobUsers,
  problems: VerifyProblem[],
): Promise<number> {
  const parts = repo.engine;
  const streams = await repo.streams.all();
  problems.push(...streamProblems(streams));
  const { trees, legacy } = snapshotUses(backups, [
    ...snapshotsOf(streams),
    ...bundlesOf(await repo.functions.all()),
  ]);
  for (const [treeId, { users }] of trees) {
    for (const user of users) usage.add(treeId, user);
    let chunks: string[];
    try {
      chunks = await readTree(parts, treeId);
    } catch (err) {
      problems.push({
        subject: `snapshot tree ${short(treeId)}`,
        problem: (err as Error).message,
        affects: users,
      });
      continue;
    }
    const missing = chunks.filter((id) => !repo.engine.index.has(id));
    if (missing.length > 0) {
      problems.push({
        subject: `snapshot tree ${short(treeId)}`,
        problem: `${missing.length} of its ${chunks.length} chunks are in no index (first: ${short(missing[0])})`,
        affects: users,
      });
    }
    for (const id of chunks) for (const user of users) usage.add(id, user);
  }
  for (const { ref, users } of legacy.values()) {
    const stat = await repo.engine.backend.stat(legacyObjectKey(ref.sha256));
    if (stat?.size !== ref.size) {
      problems.push({
        subject: `object ${short(ref.sha256)}`,
        problem: stat ? `stored with ${stat.size} bytes, catalog says ${ref.size}` : 'missing',
        affects: users,
      });
    }
  }
  return trees.size + legacy.size;
}

/** Every indexed pack is stored with its indexed size, and its header lists what the index says. */
async function checkPacks(
  repo: CheckedRepository,
  indexed: Map<string, IndexedPack>,
  stored: Map<string, number>,
  usage: BlobUsers,
  problems: VerifyProblem[],
): Promise<void> {
  for (const pack of indexed.values()) {
    const affects = () => usage.of(pack.blobs.map((b) => b.id));
    const size = stored.get(pack.id);
    if (size === undefined) {
      problems.push({ subject: `pack ${short(pack.id)}`, problem: 'missing', affects: affects() });
      continue;
    }
    if (size !== pack.size) {
      problems.push({
        subject: `pack ${short(pack.id)}`,
        problem: `stored with ${size} bytes, the index says ${pack.size}: truncated or altered`,
        affects: affects(),
      });
      continue;
    }
    try {
      const header = await readPackHeader(
        size,
        (offset, length) => repo.engine.backend.read(packKey(pack.id), { offset, length }),
        repo.engine.seal,
      );
      const disagreement = compareEntries(pack, header);
      if (disagreement)
        problems.push({ subject: `pack ${short(pack.id)}`, problem: disagreement, affects: affects() });
    } catch (err) {
      problems.push({
        subject: `pack ${short(pack.id)}`,
        problem: (err as Error).message,
        affects: affects(),
      });
    }
  }
}

function compareEntries(pack: IndexedPack, header: IndexedPack['blobs']): string | undefined {
  const key = (b: IndexedPack['blobs'][number]) => `${b.id}:${b.offset}:${b.length}`;
  const inHeader = new Set(header.map(key));
  const absent = pack.blobs.filter((b) => !inHeader.has(key(b)));
  return absent.length > 0
    ? `its header and the index disagree about ${absent.length} blobs (first: ${short(absent[0].id)})`
    : undefined;
}

/** Reads a whole pack: its name must be its SHA-256, and each blob must open to its id. */
async function readPack(
  repo: CheckedRepository,
  pack: IndexedPack,
  usage: BlobUsers,
): Promise<VerifyProblem[]> {
  const data = await repo.engine.backend.read(packKey(pack.id));
  const problems: VerifyProblem[] = [];
  const results = await Promise.allSettled(
    pack.blobs.map((b) => repo.engine.codec.decode(data.subarray(b.offset, b.offset + b.length), b.id)),
  );
  results.forEach((result, i) => {
    if (result.status === 'rejected') {
      const blob = pack.blobs[i];
      problems.push({
        subject: `blob ${short(blob.id)} in pack ${short(pack.id)}`,
        problem: (result.reason as Error).message,
        affects: usage.of([blob.id]),
      });
    }
  });
  // Damaged blobs explain a changed pack; with none, the damage is in the header or between blobs.
  const actual = createHash('sha256').update(data).digest('hex');
  if (problems.length === 0 && actual !== pack.id) {
    problems.push({
      subject: `pack ${short(pack.id)}`,
      problem: `content hashes to ${short(actual)}: altered on storage outside its blobs (its data still reads)`,
      affects: [],
    });
  }
  return problems;
}

/**
 * The packs to read: a seeded order (so a workflow's batches agree on it without passing
 * pack ids around), cut to the subset, then this batch's share.
 */
function choosePacks(packs: IndexedPack[], options: VerifyOptions): IndexedPack[] {
  const seed = options.seed ?? randomUUID();
  const rank = (id: string) => createHash('sha256').update(`${seed}/${id}`).digest('hex');
  const ordered = packs
    .map((pack) => ({ pack, rank: rank(pack.id) }))
    .sort((a, b) => a.rank.localeCompare(b.rank));
  const fraction = Math.min(1, options.subset ?? 1);
  const chosen = ordered.slice(0, Math.max(1, Math.ceil(packs.length * fraction))).map((o) => o.pack);
  const batch = options.batch;
  return batch ? chosen.filter((_, i) => i % batch.count === batch.index) : chosen;
}

export function short(id: string): string {
  return id.slice(0, 12);
}
