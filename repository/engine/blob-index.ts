/**
 * The index: which pack holds each blob, where. It lives in `index/` files, each sealed
 * and named by the SHA-256 of its stored bytes, each listing some packs' entries (a
 * pack's header says the same, so a lost index can be rebuilt from the packs). Index
 * files are immutable: loading again reads only the new ones, and drops the entries of
 * files that prune has removed.
 */
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import type { StorageBackend } from '../storage/backend';
import type { BlobType, HeaderSeal, PackEntry } from './pack';
import { INDEX_PREFIX, indexKey } from '../layout';

export interface IndexedPack {
  id: string;
  size: number;
  blobs: PackEntry[];
}

export interface BlobLocation {
  pack: string;
  type: BlobType;
  offset: number;
  length: number;
  rawLength: number;
}

export class IndexError extends Error {}

export class BlobIndex {
  private readonly blobs = new Map<string, BlobLocation>();
  /** index file -> the packs it lists. */
  private readonly files = new Map<string, IndexedPack[]>();

  constructor(
    private readonly backend: StorageBackend,
    private readonly seal: HeaderSeal,
  ) {}

  /** Reads the index files written since the last load; rebuilds if any was removed. */
  async load(): Promise<void> {
    // Only files known before the listing can have been removed: one written by a
    // concurrent snapshot meanwhile is simply not listed yet.
    const known = [...this.files.keys()];
    const present = new Set<string>();
    for await (const { key } of this.backend.list(INDEX_PREFIX)) present.add(key);
    const removed = known.filter((key) => !present.has(key));
    if (removed.length > 0) this.forget(removed);
    const limit = pLimit(8);
    const fresh = [...present].filter((key) => !this.files.has(key));
    const read = await Promise.all(fresh.map((key) => limit(() => this.readFile(key))));
    fresh.forEach((key, i) => this.addFile(key, read[i]));
  }

  private async readFile(key: string): Promise<IndexedPack[]> {
    let plain: Buffer;
    try {
      plain = this.seal.open(await this.backend.read(key));
    } catch (err) {
      throw new IndexError(`index file ${key} cannot be read: ${(err as Error).message}`);
    }
    return (JSON.parse(plain.toString('utf8')) as { packs: IndexedPack[] }).packs;
  }

  /** Drops removed index files; their blobs stay findable if another file lists them. */
  private forget(removed: string[]): void {
    for (const key of removed) this.files.delete(key);
    this.blobs.clear();
    for (const [key, packs] of [...this.files]) this.addFile(key, packs);
  }

  private addFile(key: string, packs: IndexedPack[]): void {
    this.files.set(key, packs);
    for (const pack of packs) {
      for (const { id, type, offset, length, rawLength } of pack.blobs) {
        if (!this.blobs.has(id)) this.blobs.set(id, { pack: pack.id, type, offset, length, rawLength });
      }
    }
  }

  /** Writes one index file for `packs` (already stored) and adds them; idempotent. */
  async write(packs: IndexedPack[]): Promise<string> {
    const stored = this.seal.seal(Buffer.from(JSON.stringify({ packs })));
    const key = indexKey(createHash('sha256').update(stored).digest('hex'));
    await this.backend.put(key, stored);
    this.addFile(key, packs);
    return key;
  }

  has(id: string): boolean {
    return this.blobs.has(id);
  }

  find(id: string): BlobLocation | undefined {
    return this.blobs.get(id);
  }

  /** Index files and the packs each lists: what verify cross-checks and prune rewrites. */
  get indexFiles(): ReadonlyMap<string, IndexedPack[]> {
    return this.files;
  }

  /** Every indexed pack, once, by id. */
  packs(): Map<string, IndexedPack> {
    const packs = new Map<string, IndexedPack>();
    for (const list of this.files.values()) for (const pack of list) packs.set(pack.id, pack);
    return packs;
  }

  get blobCount(): number {
    return this.blobs.size;
  }
}
