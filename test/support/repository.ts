/** Reaching into a local repository's files, to damage them the way disks and people do. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { SnapshotRef } from '../../repository/records/catalog';
import type { Repository } from '../../repository/repository';
import { catalogEntry } from '../../repository/testing';

/**
 * The pack file holding the chunk in the middle of a snapshot, among the packs without
 * its tree if there are any: damage there hits data only, whichever way the (keyed, so
 * random) chunking cut.
 */
export async function packFileOf(repo: Repository, ref: SnapshotRef): Promise<string> {
  const { index, backend, codec } = repo.engine;
  const treeAt = index.find(ref.tree!)!;
  const stored = await backend.read(packPath(treeAt.pack), {
    offset: treeAt.offset,
    length: treeAt.length,
  });
  const chunks = JSON.parse((await codec.decode(stored, ref.tree!)).toString()).chunks as string[];
  const packs = chunks.map((id) => index.find(id)!.pack);
  const apart = packs.filter((pack) => pack !== treeAt.pack);
  const chosen = apart.length > 0 ? apart : packs; // a small snapshot: one pack holds it all
  return path.join(repo.root, packPath(chosen[Math.floor(chosen.length / 2)]));
}

/** Every pack file of a local repository. */
export async function packFiles(root: string): Promise<string[]> {
  const entries = await fs
    .readdir(path.join(root, 'data'), { recursive: true, withFileTypes: true })
    .catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

export async function flipBit(file: string, offset = 100): Promise<void> {
  const bytes = await fs.readFile(file);
  bytes[offset] ^= 0x04;
  await fs.writeFile(file, bytes);
}

function packPath(pack: string): string {
  return path.join('data', pack.slice(0, 2), pack);
}

/**
 * Ten backups started in the same millisecond (the ID is the start time) recorded at once,
 * then one of them retried: every run gets an entry of its own, the retry none.
 */
export async function recordSameMillisecond(repo: Repository) {
  const at = '2026-11-21T10:00:00.000Z';
  const runs = Array.from({ length: 10 }, (_, i) => ({
    ...catalogEntry('20261121T100000.000Z', {}, at),
    workflowId: `backup/shop/${at}-run${i}`,
  }));
  const ids = await Promise.all(runs.map((run) => repo.recordBackup(run)));
  const retried = await repo.recordBackup(runs[3]);
  const listed = await repo.listBackups('shop');
  return { ids, retried, listed, runs };
}
