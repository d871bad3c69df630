/**
 * Reads a snapshot back: its tree, then its chunks in order. Chunks that lie next to
 * each other in a pack (as a snapshot's new chunks do) are fetched with one ranged read;
 * several reads and decodes run ahead of the consumer, within a bounded window, so
 * memory stays flat whatever the size of the snapshot.
 */
import { Readable } from 'node:stream';
import type { StorageBackend } from '../storage/backend';
import type { BlobIndex, BlobLocation } from './blob-index';
import { packKey } from '../layout';
import type { CodecPool } from './codec-pool';

export interface ReaderParts {
  backend: StorageBackend;
  index: BlobIndex;
  codec: CodecPool;
}

/** Bytes fetched by one ranged read at most. */
const READ_SPAN = 16 << 20;
/** Plaintext one span opens to at most: highly compressible data must not decode all at once. */
const SPAN_PLAIN = 8 << 20;
/** Ranged reads running ahead of the consumer. */
const READS_AHEAD = 3;

export class MissingBlobError extends Error {}

export async function readTree(parts: ReaderParts, treeId: string): Promise<string[]> {
  const [plain] = await readSpan(parts, [{ id: treeId, at: locate(parts.index, treeId) }]);
  return (JSON.parse(plain.toString('utf8')) as { chunks: string[] }).chunks;
}

/** The snapshot's bytes, as a stream; it fails if a chunk is missing or damaged. */
export function readChunks(parts: ReaderParts, chunkIds: string[]): Readable {
  const spans = groupIntoSpans(parts.index, chunkIds);
  async function* ordered() {
    const ahead: Promise<Buffer[]>[] = [];
    let next = 0;
    const fill = () => {
      while (ahead.length < READS_AHEAD && next < spans.length) {
        const read = readSpan(parts, spans[next++]);
        read.catch(() => {}); // awaited in order below; unhandled until then
        ahead.push(read);
      }
    };
    fill();
    while (ahead.length > 0) {
      const plains = await ahead.shift()!;
      fill();
      for (const plain of plains) yield plain;
    }
  }
  return Readable.from(ordered(), { objectMode: false });
}

interface Located {
  id: string;
  at: BlobLocation;
}

function locate(index: BlobIndex, id: string): BlobLocation {
  const at = index.find(id);
  if (!at) throw new MissingBlobError(`blob ${id.slice(0, 12)} is in no index: the repository lost it`);
  return at;
}

/** Consecutive chunks that sit back to back in one pack become one span, read at once. */
function groupIntoSpans(index: BlobIndex, ids: string[]): Located[][] {
  const spans: Located[][] = [];
  let span: Located[] = [];
  let plain = 0;
  for (const id of ids) {
    const at = locate(index, id);
    const last = span.at(-1)?.at;
    const adjacent =
      last &&
      last.pack === at.pack &&
      last.offset + last.length === at.offset &&
      at.offset + at.length - span[0].at.offset <= READ_SPAN &&
      plain + at.rawLength <= SPAN_PLAIN;
    if (!adjacent && span.length > 0) {
      spans.push(span);
      span = [];
      plain = 0;
    }
    span.push({ id, at });
    plain += at.rawLength;
  }
  if (span.length > 0) spans.push(span);
  return spans;
}

async function readSpan(parts: ReaderParts, span: Located[]): Promise<Buffer[]> {
  const start = span[0].at.offset;
  const end = span.at(-1)!.at.offset + span.at(-1)!.at.length;
  const bytes = await parts.backend.read(packKey(span[0].at.pack), { offset: start, length: end - start });
  if (bytes.length < end - start) {
    throw new MissingBlobError(
      `pack ${span[0].at.pack.slice(0, 12)} is truncated: it ends before its blobs do`,
    );
  }
  return Promise.all(
    span.map(({ id, at }) =>
      parts.codec.decode(bytes.subarray(at.offset - start, at.offset - start + at.length), id),
    ),
  );
}
