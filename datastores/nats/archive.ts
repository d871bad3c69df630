/**
 * The snapshot format of a NATS store ("lazarus-nats/1"): frames of a type byte, a u32
 * length and a payload. A header frame lists the streams; per stream an `S` frame holds
 * the server's {config, state}, `C` frames the S2 tar as the server sent it, and an `E`
 * frame its chunk count and byte total; a `T` trailer holds the SHA-256 of every byte
 * before it. Written and read as a stream: neither side holds more than a frame.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { StreamHeader } from './jetstream';

export const FORMAT = 'lazarus-nats/1';
/** A frame larger than this is damage, not data: chunks are 64 KiB and headers small. */
const MAX_FRAME = 16 * 1024 * 1024;

export type ArchiveEvent =
  | { type: 'header'; format: string; streams: string[] }
  | { type: 'stream'; name: string; header: StreamHeader }
  | { type: 'chunk'; data: Buffer }
  | { type: 'end'; name: string; chunks: number; bytes: number };

const tags = { header: 'H', stream: 'S', chunk: 'C', end: 'E', trailer: 'T' } as const;

/** Frames events, keeping the running hash the trailer carries. */
export class ArchiveWriter {
  private readonly hash = createHash('sha256');

  frame(event: ArchiveEvent): Buffer {
    const payload =
      event.type === 'chunk' ? event.data : Buffer.from(JSON.stringify({ ...event, type: undefined }));
    const out = frameOf(tags[event.type], payload);
    this.hash.update(out);
    return out;
  }

  trailer(): Buffer {
    return frameOf(tags.trailer, Buffer.from(JSON.stringify({ sha256: this.hash.digest('hex') })));
  }
}

function frameOf(tag: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(tag, 0, 'latin1');
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/**
 * The events of an archive, in order. Fails on a truncated or damaged archive: at the
 * latest at the trailer, whose hash covers everything before it, so a caller that acts
 * only once the generator has finished never acts on damaged data.
 */
export async function* readArchive(input: Readable): AsyncGenerator<ArchiveEvent> {
  const hash = createHash('sha256');
  let buffered: Buffer = Buffer.alloc(0);
  let sawTrailer = false;
  for await (const piece of input) {
    buffered = buffered.length === 0 ? (piece as Buffer) : Buffer.concat([buffered, piece as Buffer]);
    let at = 0;
    while (buffered.length >= at + 5) {
      if (sawTrailer) throw new Error('NATS snapshot: data after its trailer');
      const tag = String.fromCharCode(buffered[at]);
      const length = buffered.readUInt32BE(at + 1);
      if (length > MAX_FRAME || !Object.values<string>(tags).includes(tag))
        throw new Error('NATS snapshot is damaged (an impossible frame)');
      if (buffered.length < at + 5 + length) break;
      const frame = buffered.subarray(at, at + 5 + length);
      const payload = Buffer.from(frame.subarray(5));
      at += 5 + length;
      if (tag === tags.trailer) {
        checkTrailer(payload, hash.digest('hex'));
        sawTrailer = true;
        continue;
      }
      hash.update(frame);
      yield eventOf(tag, payload);
    }
    buffered = buffered.subarray(at);
  }
  if (!sawTrailer || buffered.length > 0) throw new Error('NATS snapshot is truncated (no trailer)');
}

function checkTrailer(payload: Buffer, actual: string): void {
  const { sha256 } = JSON.parse(payload.toString('utf8')) as { sha256: string };
  if (sha256 !== actual) throw new Error('NATS snapshot is damaged (its trailer hash does not match)');
}

function eventOf(tag: string, payload: Buffer): ArchiveEvent {
  if (tag === tags.chunk) return { type: 'chunk', data: payload };
  const body = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
  const type = (Object.keys(tags) as (keyof typeof tags)[]).find((key) => tags[key] === tag)!;
  return { ...body, type } as ArchiveEvent;
}
