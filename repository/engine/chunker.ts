/**
 * Content-defined chunking (FastCDC with normalized chunking, Xia et al. 2016/2020): cut
 * points depend on the bytes around them, not on their offset, so an insertion early in
 * a dump moves only the chunks it touches and the rest deduplicate. A Gear rolling hash
 * over a 256-entry table; the table comes from a seed, so a repository may keep its own.
 */
import { createHash } from 'node:crypto';
import { Duplex } from 'node:stream';

export interface ChunkerParams {
  minSize: number;
  avgSize: number;
  maxSize: number;
  /** Seeds the Gear table; the same seed and sizes always cut the same bytes the same way. */
  seed: string;
}

export const defaultChunkerParams: ChunkerParams = {
  minSize: 256 * 1024,
  avgSize: 1024 * 1024,
  maxSize: 4 * 1024 * 1024,
  seed: 'lazarus-gear-v1',
};

/** The parameters in the form the cut search needs. */
export interface CompiledChunker {
  params: ChunkerParams;
  /** Signed, so the hash stays in 32-bit integer arithmetic (about a third faster in V8). */
  gear: Int32Array;
  /** Harder to match (more bits) before the average size, easier after: sizes cluster near it. */
  maskSmall: number;
  maskLarge: number;
}

export function compileChunker(params: ChunkerParams = defaultChunkerParams): CompiledChunker {
  const { minSize, avgSize, maxSize } = params;
  if (!(minSize > 0 && minSize < avgSize && avgSize < maxSize)) {
    throw new Error(`chunk sizes must satisfy 0 < min < avg < max (got ${minSize}, ${avgSize}, ${maxSize})`);
  }
  const bits = Math.round(Math.log2(avgSize));
  return {
    params,
    gear: gearTable(params.seed),
    maskSmall: highBits(bits + 2) | 0,
    maskLarge: highBits(bits - 2) | 0,
  };
}

/**
 * Bit k of the Gear hash depends on the last k+1 bytes only, so the masks take the high
 * bits: a cut then depends on a window of about 32 bytes.
 */
function highBits(count: number): number {
  const n = Math.max(1, Math.min(31, count));
  return ((2 ** n - 1) * 2 ** (32 - n)) >>> 0;
}

function gearTable(seed: string): Int32Array {
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    table[i] = createHash('sha256').update(`${seed}/${i}`).digest().readInt32BE(0);
  }
  return table;
}

/**
 * The length of the chunk that starts at `start`, within `data[start, end)`. The caller
 * passes at least `maxSize` bytes unless they are the last of the input.
 */
export function findCut(chunker: CompiledChunker, data: Uint8Array, start: number, end: number): number {
  const { minSize, avgSize, maxSize } = chunker.params;
  const available = end - start;
  if (available <= minSize) return available;
  const limit = start + Math.min(available, maxSize);
  const barrier = start + Math.min(available, avgSize);
  const { gear, maskSmall, maskLarge } = chunker;
  let hash = 0;
  let i = start + minSize;
  for (; i < barrier; i++) {
    hash = ((hash << 1) + gear[data[i]]) | 0;
    if ((hash & maskSmall) === 0) return i + 1 - start;
  }
  for (; i < limit; i++) {
    hash = ((hash << 1) + gear[data[i]]) | 0;
    if ((hash & maskLarge) === 0) return i + 1 - start;
  }
  return limit - start;
}

/**
 * The chunks of a stream of bytes, each cut only when the consumer asks for it: the
 * generator waits at each `yield`, and reads the source only when it needs more bytes.
 * Holds at most two maximum-size chunks besides the one input piece being cut, whatever
 * the size of the input or of its pieces (one piece may be the whole dump).
 *
 * A cut is made only when a whole maximum is held, or at the end of the input: findCut
 * then sees the same bytes however the input arrived, so the cut points never depend on
 * how it is read (they are part of deduplication).
 */
export async function* chunksOf(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  chunker: CompiledChunker = compileChunker(),
): AsyncGenerator<Buffer> {
  const { maxSize } = chunker.params;
  const buffer = Buffer.alloc(2 * maxSize);
  let length = 0;
  for await (const piece of source) {
    const input = asBytes(piece);
    for (let consumed = 0; consumed < input.length;) {
      // Cutting below leaves fewer than maxSize bytes, so there is room for at least that many.
      const copied = input.copy(buffer, length, consumed);
      length += copied;
      consumed += copied;
      let offset = 0;
      while (length - offset >= maxSize) {
        const size = findCut(chunker, buffer, offset, length);
        yield Buffer.from(buffer.subarray(offset, offset + size));
        offset += size;
      }
      // Moving the tail only when something was cut: a no-op copyWithin still copies.
      if (offset > 0) buffer.copyWithin(0, offset, length);
      length -= offset;
    }
  }
  for (let offset = 0; offset < length;) {
    const size = findCut(chunker, buffer, offset, length);
    yield Buffer.from(buffer.subarray(offset, offset + size));
    offset += size;
  }
}

/** A piece as bytes, without copying: a stream in object mode may carry strings or Uint8Arrays. */
function asBytes(piece: Buffer | Uint8Array | string): Buffer {
  if (Buffer.isBuffer(piece)) return piece;
  if (typeof piece === 'string') return Buffer.from(piece);
  return Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
}

/** chunksOf as a stream: bytes written in, chunks (Buffers) read out, one at a time. */
export function chunkStream(chunker: CompiledChunker = compileChunker()): Duplex {
  return Duplex.from((source: AsyncIterable<Buffer>) => chunksOf(source, chunker));
}
