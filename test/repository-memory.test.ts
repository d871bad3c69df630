/**
 * Storing a snapshot streams: the memory the writer holds does not grow with the size of
 * the stream, nor with the size of the pieces it arrives in (an S3 object or a dump tool
 * may hand over one large run). Each run is a fresh process (dist/bench/store-memory.js)
 * that forces a GC every 4 MB stored and records the heap and external memory still
 * reachable: what the writer holds, not garbage the GC has yet to collect.
 *
 * 4 MiB packs make the writer's own constant small (two packs uploading, one filling, a
 * few chunks per codec worker, the chunker's 8 MiB), so that holding a pile of packs or
 * of chunks shows: before the fix, 200 MB retained 106 MB (64 KiB pieces) and 213 MB (one
 * piece); since, about 50 MB in both.
 */
import path from 'node:path';
import { measureInChild } from '../bench/store-memory';

const SCRIPT = path.resolve(__dirname, '..', 'dist', 'bench', 'store-memory.js');
const LIMIT_MB = 64;

test.each([
  ['in 64 KiB pieces', '64'],
  ['in one piece', 'whole'],
])('storing 200 MB arriving %s holds under 64 MB of heap and buffers', (_label, piece) => {
  const run = measureInChild(SCRIPT, ['200', piece, '4', '--retained']);
  expect(run.retainedMB).toBeLessThan(LIMIT_MB);
});
