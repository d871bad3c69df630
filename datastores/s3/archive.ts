/**
 * The S3 snapshot format, "lazarus-s3/1": a stream of frames, read and written one object
 * at a time, so memory stays flat whatever the objects' sizes.
 *
 *   frame  = tag (1 byte) + length (4 bytes, big-endian) + JSON
 *   stream = frame "H" {format, bucket, prefix}
 *            then per object: frame "O" ObjectHeader, its `size` bytes, their SHA-256 (32 bytes)
 *            then frame "E" {objects, bytes, sha256 of every byte before this frame}
 *
 * A stream cut short has no "E" frame, and a damaged one fails a hash: neither restores.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ContentHash } from '../shared/fingerprint';

export const FORMAT = 'lazarus-s3/1';
const MAX_FRAME = 1 << 20;

/** The object fields S3 keeps beside the bytes, as the SDK names them. */
export interface ObjectMetadata {
  ContentType?: string;
  CacheControl?: string;
  ContentDisposition?: string;
  ContentEncoding?: string;
  ContentLanguage?: string;
  /** User metadata (x-amz-meta-*), names in lower case as S3 returns them. */
  Metadata?: Record<string, string>;
}

export interface ObjectHeader {
  /** The key below the store's prefix. */
  key: string;
  size: number;
  metadata: ObjectMetadata;
  /** The object's tags, sorted by name. */
  tags: [string, string][];
  /** As the source reported it: informational (a multipart upload's ETag is no content hash). */
  etag?: string;
}

interface Trailer {
  objects: number;
  bytes: number;
  sha256: string;
}

function frame(tag: string, value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value));
  const head = Buffer.alloc(5);
  head.write(tag, 0, 'latin1');
  head.writeUInt32BE(json.length, 1);
  return Buffer.concat([head, json]);
}

/** Frames a snapshot; every byte it hands out goes into the trailer's hash. */
export class ArchiveWriter {
  private readonly hash = createHash('sha256');
  private objects = 0;
  private bytes = 0;

  start(bucket: string, prefix: string): Buffer {
    return this.pass(frame('H', { format: FORMAT, bucket, prefix }));
  }

  object(header: ObjectHeader): Buffer {
    this.objects++;
    return this.pass(frame('O', header));
  }

  /** A piece of an object's body, or the SHA-256 that follows it. */
  pass(chunk: Buffer): Buffer {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    return chunk;
  }

  end(): Buffer {
    const trailer: Trailer = { objects: this.objects, bytes: this.bytes, sha256: this.hash.digest('hex') };
    return frame('E', trailer);
  }
}

/** One object read from an archive: its body must be read to the end before the next object. */
export interface ArchivedObject {
  header: ObjectHeader;
  /** The body, exactly `size` bytes; it fails at its end if they do not match their SHA-256. */
  body: AsyncIterable<Buffer>;
  /** The body's SHA-256 (hex), once the body has been read and matched its recorded hash; "" before. */
  sha256(): string;
}

/** The objects of an archive, in order; fails on a damaged or truncated stream, after the last object at the latest. */
export async function* readArchive(input: Readable): AsyncGenerator<ArchivedObject> {
  const reader = new ExactReader(input);
  const start = await reader.frame();
  if (start.tag !== 'H' || (start.value as { format?: string }).format !== FORMAT)
    throw new Error(`not a ${FORMAT} snapshot`);
  for (;;) {
    const before = reader.hashSoFar();
    const next = await reader.frame();
    if (next.tag === 'E') {
      const trailer = next.value as Trailer;
      if (trailer.sha256 !== before)
        throw new Error('the snapshot is damaged: its trailer hash does not match');
      if (!(await reader.atEnd())) throw new Error('the snapshot has bytes after its trailer');
      return;
    }
    if (next.tag !== 'O') throw new Error(`the snapshot is damaged: unknown frame "${next.tag}"`);
    const header = next.value as ObjectHeader;
    let digest = '';
    async function* body(): AsyncGenerator<Buffer> {
      const hash = createHash('sha256');
      for await (const chunk of reader.bytes(header.size)) {
        hash.update(chunk);
        yield chunk;
      }
      const computed = hash.digest('hex');
      const recorded = (await reader.exactly(32)).toString('hex');
      if (recorded !== computed)
        throw new Error(`the snapshot is damaged: object ${header.key} fails its SHA-256`);
      digest = computed;
    }
    const object = { header, body: body(), sha256: () => digest };
    yield object;
    if (!digest) throw new Error(`object ${header.key}: its body was not read to its verified end`);
  }
}

/** Reads exact byte counts from a stream, hashing everything it hands out. */
class ExactReader {
  private readonly source: AsyncIterator<Buffer>;
  private pending: Buffer = Buffer.alloc(0);
  private readonly hash: Hash = createHash('sha256');

  constructor(input: Readable) {
    this.source = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  hashSoFar(): string {
    return this.hash.copy().digest('hex');
  }

  private async fill(): Promise<boolean> {
    const next = await this.source.next();
    if (next.done) return false;
    this.pending = this.pending.length ? Buffer.concat([this.pending, next.value]) : next.value;
    return true;
  }

  private take(n: number): Buffer {
    const out = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    this.hash.update(out);
    return out;
  }

  async exactly(n: number): Promise<Buffer> {
    while (this.pending.length < n)
      if (!(await this.fill())) throw new Error('the snapshot ends early: it was cut off or is incomplete');
    return Buffer.from(this.take(n));
  }

  /** `n` bytes as they arrive: never more than one input chunk held. */
  async *bytes(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.pending.length === 0 && !(await this.fill()))
        throw new Error('the snapshot ends early: it was cut off or is incomplete');
      const piece = this.take(Math.min(left, this.pending.length));
      left -= piece.length;
      yield piece;
    }
  }

  async frame(): Promise<{ tag: string; value: unknown }> {
    const head = await this.exactly(5);
    const length = head.readUInt32BE(1);
    // A header holds a key (1 KiB at most) and metadata (2 KiB): a huge length is damage.
    if (length > MAX_FRAME) throw new Error('the snapshot is damaged: a frame is too long');
    const json = await this.exactly(length);
    try {
      return { tag: head.toString('latin1', 0, 1), value: JSON.parse(json.toString('utf8')) };
    } catch {
      throw new Error('the snapshot is damaged: a frame is not readable');
    }
  }

  async atEnd(): Promise<boolean> {
    return this.pending.length === 0 && !(await this.fill());
  }
}

/** Metadata as one string: fields and user-metadata names in a fixed order. */
function canonicalMetadata(metadata: ObjectMetadata): string {
  const { Metadata = {}, ...fields } = metadata;
  const sorted = (record: Record<string, string | undefined>) =>
    Object.keys(record)
      .filter((name) => record[name] !== undefined)
      .sort()
      .map((name) => [name, record[name]]);
  return JSON.stringify([sorted(fields), sorted(Metadata)]);
}

/**
 * A store's fingerprint from its objects, fed in any order: each object's key, content
 * SHA-256, metadata and tags, summed over the keys sorted. Holds one short digest per
 * object (not its bytes) until the end.
 */
export class StoreDigest {
  private readonly objects: [string, string][] = [];

  add(key: string, contentSha256: string, metadata: ObjectMetadata, tags: [string, string][]): void {
    const digest = new ContentHash().add(
      key,
      contentSha256,
      canonicalMetadata(metadata),
      JSON.stringify(tags),
    );
    this.objects.push([key, digest.hex()]);
  }

  hex(): string {
    const sum = new ContentHash();
    const byKey = this.objects.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const [key, digest] of byKey) sum.add(key, digest);
    return sum.hex();
  }
}
