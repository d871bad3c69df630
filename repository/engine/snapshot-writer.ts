/**
 * Stores one snapshot stream: cut into content-defined chunks, each named by its SHA-256;
 * chunks the repository already holds (from any backup, service or application) are
 * only referenced; new ones are compressed and sealed by the codec pool and gathered
 * into packs. Last comes the tree, the ordered list of the snapshot's chunks, itself a
 * blob. Packs are uploaded before the index that lists them, so an index never names a
 * pack that is not stored; a crash leaves at most unindexed packs, which prune removes.
 *
 * Memory is bounded by the chunker's buffer, the packs being filled and uploaded, and
 * the encodes in flight: it does not grow with the size of the snapshot, nor with the
 * size of the pieces the source hands over (bench/store-memory.ts measures it).
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { StorageBackend } from '../storage/backend';
import type { BlobIndex, IndexedPack } from './blob-index';
import { packKey } from '../layout';
import { chunksOf, type CompiledChunker } from './chunker';
import type { CodecPool } from './codec-pool';
import { type BlobType, type HeaderSeal, PackWriter } from './pack';
import type { SnapshotRef } from './snapshot-ref';

export interface WriterParts {
  backend: StorageBackend;
  index: BlobIndex;
  codec: CodecPool;
  seal: HeaderSeal;
  chunker: CompiledChunker;
  /** A pack is uploaded once it holds this many stored bytes. */
  packSize: number;
}

/** Encodes in flight at once: enough to keep the workers fed. */
const ENCODES_IN_FLIGHT = 8;
/** Packs uploading at once while the next fills. */
const UPLOADS_IN_FLIGHT = 2;
/** Packs listed per index file written during a long snapshot. */
const PACKS_PER_INDEX = 64;

export interface StoreStats {
  /** Bytes of the snapshot. */
  bytes: number;
  /** Bytes of chunks that were new to the repository (before compression). */
  newBytes: number;
  /** Bytes those new chunks take once compressed and sealed. */
  storedBytes: number;
  chunks: number;
  newChunks: number;
}

export async function writeSnapshot(
  parts: WriterParts,
  source: Readable,
  onBytes: (bytes: number) => void,
): Promise<{ ref: SnapshotRef; stats: StoreStats }> {
  const packer = new Packer(parts);
  const hasher = parts.codec.streamHasher();
  const chunkIds: string[] = [];
  const stats: StoreStats = { bytes: 0, newBytes: 0, storedBytes: 0, chunks: 0, newChunks: 0 };
  const encodes = new Set<Promise<void>>();
  try {
    // Iterating the source, not piping it: a failing source (a dump tool exiting non-zero)
    // fails the loop, so a truncated stream is never stored as if it were complete. Each
    // chunk is cut when this loop asks for it: the source is read no faster than stored.
    for await (const chunk of chunksOf(source, parts.chunker)) {
      // Hashed in a worker (chunk and stream alike) while the next chunk is cut here;
      // ids are kept in order, whatever order the hashes come back in.
      const slot = chunkIds.push('') - 1;
      stats.bytes += chunk.length;
      stats.chunks++;
      onBytes(stats.bytes);
      const work = hasher.hash(chunk).then(({ id, chunk: plain }) => {
        chunkIds[slot] = id;
        if (!packer.claim(id)) return;
        stats.newChunks++;
        stats.newBytes += plain.length;
        return packer.encodeAndAdd(id, 'data', plain).then((stored) => {
          stats.storedBytes += stored;
        });
      });
      encodes.add(work);
      void work.finally(() => encodes.delete(work)).catch(() => {});
      // A full pack waiting for an upload slot also stops the reading: else packs would
      // pile up, each holding its bytes, as fast as chunks are cut.
      while (encodes.size >= ENCODES_IN_FLIGHT || (packer.waiting > 0 && encodes.size > 0)) {
        await Promise.race(encodes);
      }
    }
    await Promise.all(encodes);
    const sha256 = await hasher.digest();
    const tree = Buffer.from(JSON.stringify({ chunks: chunkIds }));
    const treeId = createHash('sha256').update(tree).digest('hex');
    if (packer.claim(treeId)) stats.storedBytes += await packer.encodeAndAdd(treeId, 'tree', tree);
    await packer.finish();
    return { ref: { sha256, size: stats.bytes, tree: treeId }, stats };
  } catch (err) {
    source.destroy();
    hasher.abandon();
    await Promise.allSettled(encodes);
    await packer.abandon();
    throw err;
  }
}

/** Fills packs, uploads each when full, and writes the index for what was uploaded. */
class Packer {
  private current: PackWriter;
  /** Blobs of this snapshot not yet in the index: stored once even if they recur. */
  private readonly claimed = new Set<string>();
  private readonly uploads = new Set<Promise<void>>();
  private uploaded: IndexedPack[] = [];
  private failure: unknown;
  /** Full packs waiting for an upload slot. */
  private waitingPacks = 0;

  constructor(private readonly parts: WriterParts) {
    this.current = new PackWriter(parts.seal);
  }

  /** True when the blob is new, and so must be stored (by this caller). */
  claim(id: string): boolean {
    if (this.parts.index.has(id) || this.claimed.has(id)) return false;
    this.claimed.add(id);
    return true;
  }

  /** Encodes a blob and adds it to the pack; returns its stored size. */
  async encodeAndAdd(id: string, type: BlobType, plain: Buffer): Promise<number> {
    const rawLength = plain.length;
    const stored = await this.parts.codec.encode(plain);
    this.current.add(id, type, stored, rawLength);
    if (this.current.bytes >= this.parts.packSize) await this.rotate();
    return stored.length;
  }

  /** Full packs not yet uploading: the caller stops feeding blobs while there is one. */
  get waiting(): number {
    return this.waitingPacks;
  }

  private async rotate(): Promise<void> {
    const full = this.current;
    this.current = new PackWriter(this.parts.seal);
    // The slot is taken in the same turn the wait ends: several blobs may fill packs at
    // once, and each must wait its turn, or every one of them would upload at once.
    this.waitingPacks++;
    try {
      while (this.uploads.size >= UPLOADS_IN_FLIGHT) await Promise.race(this.uploads);
    } finally {
      this.waitingPacks--;
    }
    if (this.failure) throw this.failure;
    const upload = this.upload(full);
    this.uploads.add(upload);
    void upload.finally(() => this.uploads.delete(upload)).catch(() => {});
    if (this.uploaded.length >= PACKS_PER_INDEX) await this.writeIndex();
  }

  private async upload(writer: PackWriter): Promise<void> {
    const { id, data, entries } = writer.finish();
    try {
      await this.parts.backend.put(packKey(id), data);
      this.uploaded.push({ id, size: data.length, blobs: entries });
    } catch (err) {
      this.failure = err;
      throw err;
    }
  }

  private async writeIndex(): Promise<void> {
    const packs = this.uploaded;
    this.uploaded = [];
    if (packs.length > 0) await this.parts.index.write(packs);
    for (const pack of packs) for (const blob of pack.blobs) this.claimed.delete(blob.id);
  }

  async finish(): Promise<void> {
    if (this.current.count > 0) await this.rotate();
    await Promise.all(this.uploads);
    if (this.failure) throw this.failure;
    await this.writeIndex();
  }

  /** After a failure: lets uploads settle; what they stored is unindexed, for prune. */
  async abandon(): Promise<void> {
    await Promise.allSettled(this.uploads);
  }
}
