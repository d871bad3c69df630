/** Content-defined chunking: lossless, bounded, deterministic, and robust to insertions. */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { chunkStream, compileChunker, findCut } from '../../repository/engine/chunker';

const small = compileChunker({ minSize: 2048, avgSize: 8192, maxSize: 32768, seed: 'test' });

async function chunksOf(data: Buffer, pieceSize: () => number): Promise<Buffer[]> {
  const pieces: Buffer[] = [];
  for (let at = 0; at < data.length;) {
    const size = Math.min(pieceSize(), data.length - at);
    pieces.push(data.subarray(at, at + size));
    at += size;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of Readable.from(pieces).pipe(chunkStream(small))) chunks.push(chunk as Buffer);
  return chunks;
}

const ids = (chunks: Buffer[]) => chunks.map((c) => createHash('sha256').update(c).digest('hex'));

test('chunks put back together are the input; sizes stay within bounds and near the average', async () => {
  const data = randomBytes(8 * 1024 * 1024);
  const chunks = await chunksOf(data, () => 65536);
  expect(Buffer.concat(chunks).equals(data)).toBe(true);
  for (const chunk of chunks.slice(0, -1)) {
    expect(chunk.length).toBeGreaterThanOrEqual(2048);
    expect(chunk.length).toBeLessThanOrEqual(32768);
  }
  const average = data.length / chunks.length;
  expect(average).toBeGreaterThan(8192 * 0.75);
  expect(average).toBeLessThan(8192 * 1.5);
});

test('the cut points do not depend on how the input arrives', async () => {
  const data = randomBytes(2 * 1024 * 1024);
  const whole = ids(await chunksOf(data, () => data.length));
  const ragged = ids(await chunksOf(data, () => 1 + Math.floor(Math.random() * 50_000)));
  expect(ragged).toEqual(whole);
});

test('an insertion near the start changes only the chunks around it', async () => {
  const data = randomBytes(4 * 1024 * 1024);
  const edited = Buffer.concat([
    data.subarray(0, 10_000),
    Buffer.from('inserted bytes'),
    data.subarray(10_000),
  ]);
  const before = new Set(ids(await chunksOf(data, () => 65536)));
  const after = ids(await chunksOf(edited, () => 65536));
  const fresh = after.filter((id) => !before.has(id));
  expect(fresh.length).toBeLessThanOrEqual(2);
  expect(after.length).toBeGreaterThan(100);
});

test('a run of identical bytes is cut at the maximum size; empty input gives no chunk', async () => {
  const zeros = Buffer.alloc(100_000);
  expect((await chunksOf(zeros, () => 4096)).map((c) => c.length)).toEqual([32768, 32768, 32768, 1696]);
  expect(await chunksOf(Buffer.alloc(0), () => 1)).toEqual([]);
  expect(findCut(small, zeros, 0, 1000)).toBe(1000);
});

test('a different seed cuts differently; sizes out of order are refused', async () => {
  const data = randomBytes(256 * 1024);
  const cuts = (chunker: typeof small) => {
    const sizes: number[] = [];
    for (let at = 0; at < data.length; at += sizes[sizes.length - 1])
      sizes.push(findCut(chunker, data, at, data.length));
    return sizes;
  };
  expect(cuts(compileChunker({ ...small.params, seed: 'other' }))).not.toEqual(cuts(small));
  expect(() => compileChunker({ minSize: 10, avgSize: 5, maxSize: 20, seed: 'x' })).toThrow(
    /min < avg < max/,
  );
});

test('one large piece is cut as its chunks are read, not all at once', async () => {
  // A stream may hand over a whole dump in one piece: cutting it all ahead of the reader
  // would hold a copy of all of it.
  const data = randomBytes(4 * 1024 * 1024);
  const stream = chunkStream(small);
  stream.end(data);
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(stream.readableLength).toBeLessThanOrEqual(2);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  expect(Buffer.concat(chunks).equals(data)).toBe(true);
  expect(chunks.length).toBeGreaterThan(100);
});
