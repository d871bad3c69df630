/**
 * Lazarus's own MongoDB archive: a stream of frames, each a one-byte tag and a BSON
 * document (self-length-prefixed). The documents are the server's raw BSON, copied as
 * they came (never deserialised), so every type and byte survives. Layout per database:
 *
 *   H {format, db, collections: [names]}   the names first: a restore checks them all before writing
 *   C {name, type, options, indexes}       then, per collection, its documents:
 *   D <raw document> ...
 *   E {name, count, digest}                count and order-independent digest of the D frames
 *   T {collections, sha256}                SHA-256 of every byte before this frame
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { BSON, type Document } from 'mongodb';

export const FORMAT = 'lazarus-mongo/1';

export const Tag = { header: 0x48, collection: 0x43, document: 0x44, end: 0x45, trailer: 0x54 } as const;
export type TagValue = (typeof Tag)[keyof typeof Tag];

export interface Frame {
  tag: TagValue;
  /** The frame's BSON document, as bytes. */
  body: Buffer;
}

export function frame(tag: TagValue, body: Buffer | Document): Buffer {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(BSON.serialize(body));
  return Buffer.concat([Buffer.from([tag]), bytes]);
}

/** Reads a frame's document, its numbers kept as BSON types (Int32 stays Int32). */
export function parse(body: Buffer): Document {
  return BSON.deserialize(body, {
    promoteValues: false,
    promoteLongs: false,
    promoteBuffers: false,
    bsonRegExp: true,
  });
}

/** Keeps a running SHA-256 of the archive, for the trailer. */
export class ArchiveHash {
  private readonly hash = createHash('sha256');
  add(bytes: Buffer): Buffer {
    this.hash.update(bytes);
    return bytes;
  }
  hex(): string {
    return this.hash.copy().digest('hex');
  }
}

const MAX_FRAME = 48 * 1024 * 1024; // 16 MiB documents, with room for meta frames

/**
 * The frames of an archive stream, read as they arrive (memory holds one frame at most),
 * the trailer's hash checked: a cut-off or damaged archive fails here.
 */
export async function* readFrames(data: Readable, what: string): AsyncGenerator<Frame> {
  const hash = new ArchiveHash();
  let chunks: Buffer[] = [];
  let buffered = 0;
  let sawTrailer = false;
  const take = (n: number): Buffer => {
    const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    chunks = all.length > n ? [all.subarray(n)] : [];
    buffered -= n;
    return all.subarray(0, n);
  };
  const peekLength = (): number => {
    const head = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    chunks = [head];
    return head.readInt32LE(1);
  };
  // The next frame's size once known: chunks are only joined when the whole frame is there.
  let need = 0;
  for await (const chunk of data) {
    chunks.push(chunk as Buffer);
    buffered += (chunk as Buffer).length;
    while (buffered >= 5 && buffered >= need) {
      if (need === 0) {
        const length = peekLength();
        if (length < 5 || length > MAX_FRAME)
          throw new Error(`${what}: the archive is damaged (frame of ${length} bytes)`);
        need = length + 1;
        if (buffered < need) break;
      }
      const bytes = take(need);
      need = 0;
      const tag = bytes[0] as TagValue;
      if (sawTrailer) throw new Error(`${what}: the archive has data after its trailer`);
      if (tag === Tag.trailer) {
        sawTrailer = true;
        const { sha256 } = parse(bytes.subarray(1));
        if (sha256 !== hash.hex())
          throw new Error(`${what}: the archive is damaged (its SHA-256 does not match)`);
      } else hash.add(bytes);
      yield { tag, body: bytes.subarray(1) };
    }
  }
  if (buffered > 0 || !sawTrailer) throw new Error(`${what}: the archive ends before its trailer (cut off)`);
}
