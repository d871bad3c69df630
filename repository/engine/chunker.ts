/**
 * Content-defined chunking (FastCDC with normalized chunking, Xia et al. 2016/2020): cut
 * points depend on the bytes around them, not on their offset, so an insertion early in
 * a dump moves only the chunks it touches and the rest deduplicate. A Gear rolling hash
 * over a 256-entry table; the table comes from a seed, so a repository may keep its own.
 *
 * Not yet used by the repository (issue 4 wires it in); kept here with its tests.
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

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
 * A stream of bytes in, a stream of chunks (Buffers) out. Holds at most about two
 * maximum-size chunks, whatever the size of the input.
 */
export function chunkStream(chunker: CompiledChunker = compileChunker()): Transform {
  const { maxSize } = chunker.params;
  const buffer = Buffer.alloc(2 * maxSize);
  let length = 0;

  /** Emits every chunk that is certain: all of them once the input ended, else while a whole maximum is held. */
  const emit = (push: (chunk: Buffer) => void, final: boolean) => {
    let offset = 0;
    while (length - offset >= maxSize || (final && offset < length)) {
      const size = findCut(chunker, buffer, offset, length);
      push(Buffer.from(buffer.subarray(offset, offset + size)));
      offset += size;
    }
    // Moving the tail only when something was cut: a no-op copyWithin still copies.
    if (offset > 0) buffer.copyWithin(0, offset, length);
    length -= offset;
  };

  return new Transform({
    readableObjectMode: true,
    transform(input: Buffer, _encoding, done: TransformCallback) {
      let consumed = 0;
      while (consumed < input.length) {
        // After an emit fewer than maxSize bytes remain, so the buffer has room again.
        if (length === buffer.length) emit((c) => this.push(c), false);
        const copied = input.copy(buffer, length, consumed);
        length += copied;
        consumed += copied;
      }
      emit((c) => this.push(c), false);
      done();
    },
    flush(done: TransformCallback) {
      emit((c) => this.push(c), true);
      done();
    },
  });
}
