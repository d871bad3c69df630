/**
 * Pack files: many stored blobs (chunks, already compressed and sealed) in one object,
 * so a repository holds thousands of files rather than millions. Layout:
 *
 *   blob 0 | blob 1 | ... | sealed header (JSON list of entries) | header length (uint32 LE)
 *
 * The header is sealed with the same key as the blobs, so a pack reveals nothing but its
 * size. Reading one blob needs the index (blob -> pack, offset, length) or the header.
 */
import { createHash } from 'node:crypto';

export type BlobType = 'data' | 'tree';

export interface PackEntry {
  /** SHA-256 of the blob's plaintext: its identity, the same in every pack and repository. */
  id: string;
  type: BlobType;
  offset: number;
  /** Bytes as stored (compressed and sealed). */
  length: number;
  /** Bytes of plaintext. */
  rawLength: number;
}

/** How the header is protected: the repository's key, or nothing for an unencrypted one. */
export interface HeaderSeal {
  seal(plain: Buffer): Buffer;
  open(sealed: Buffer): Buffer;
}

export class PackError extends Error {}

/** Collects stored blobs until the pack is big enough, then yields its bytes and entries. */
export class PackWriter {
  private readonly parts: Buffer[] = [];
  private readonly entries: PackEntry[] = [];
  private size = 0;

  constructor(private readonly headerSeal: HeaderSeal) {}

  get bytes(): number {
    return this.size;
  }

  get count(): number {
    return this.entries.length;
  }

  add(id: string, type: BlobType, stored: Buffer, rawLength: number): void {
    this.entries.push({ id, type, offset: this.size, length: stored.length, rawLength });
    this.parts.push(stored);
    this.size += stored.length;
  }

  /**
   * The whole pack, and its name: the SHA-256 of its bytes, so a rewrite never collides.
   * Once only: the blobs are let go, so an upload in flight holds the pack's bytes once, not twice.
   */
  finish(): { id: string; data: Buffer; entries: PackEntry[] } {
    const header = this.headerSeal.seal(Buffer.from(JSON.stringify(this.entries)));
    const length = Buffer.alloc(4);
    length.writeUInt32LE(header.length);
    const data = Buffer.concat([...this.parts.splice(0), header, length]);
    return { id: createHash('sha256').update(data).digest('hex'), data, entries: [...this.entries] };
  }
}

/**
 * A pack's entries, read from its end: `read(offset, length)` returns that range of the
 * pack (a ranged GET on object storage). A truncated or altered pack is a PackError.
 */
export async function readPackHeader(
  packSize: number,
  read: (offset: number, length: number) => Promise<Buffer>,
  headerSeal: HeaderSeal,
): Promise<PackEntry[]> {
  if (packSize < 4) throw new PackError(`pack of ${packSize} bytes is too short to hold a header`);
  const headerLength = (await read(packSize - 4, 4)).readUInt32LE(0);
  if (headerLength + 4 > packSize) {
    throw new PackError(`header length ${headerLength} exceeds the pack (${packSize} bytes): truncated?`);
  }
  let plain: Buffer;
  try {
    plain = headerSeal.open(await read(packSize - 4 - headerLength, headerLength));
  } catch (err) {
    throw new PackError(`pack header cannot be read: ${(err as Error).message}`);
  }
  const entries = JSON.parse(plain.toString('utf8')) as PackEntry[];
  const end = packSize - 4 - headerLength;
  const outside = entries.find((e) => e.offset < 0 || e.offset + e.length > end);
  if (outside) throw new PackError(`blob ${outside.id.slice(0, 12)} lies outside the pack's data`);
  return entries;
}

/** For unencrypted repositories: the header as it is. */
export const plainHeader: HeaderSeal = { seal: (b) => b, open: (b) => b };
