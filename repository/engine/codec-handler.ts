/**
 * What a codec worker does with each request: hashes chunks (and, in order, whole
 * snapshots), compresses and seals blobs, or opens, decompresses and re-hashes them. A
 * worker thread runs it (codec-worker.ts) beside the main thread's reading and chunking;
 * a pool of no threads runs it inline (codec-pool.ts).
 */
import { type Hash, createHash } from 'node:crypto';
import { ChunkCodec } from './codec';
import { SealingKey } from './crypto';
import { plainHeader } from './pack';
import type { CodecRequest, CodecResponse } from './codec-pool';

/** A handler for one worker's requests, with the codec for `masterKey` (none: unencrypted). */
export function codecHandler(masterKey: Uint8Array | undefined, level: number) {
  const codec = new ChunkCodec(masterKey ? new SealingKey(Buffer.from(masterKey)) : plainHeader, level);
  /** Running hashes of whole snapshots, by stream: their chunks arrive here in order. */
  const streams = new Map<number, Hash>();

  return (request: CodecRequest): CodecResponse => {
    try {
      return { seq: request.seq, ...handle(request) };
    } catch (err) {
      return { seq: request.seq, error: (err as Error).message };
    }
  };

  function handle(request: CodecRequest): Omit<CodecResponse, 'seq'> {
    const data =
      request.data && Buffer.from(request.data.buffer, request.data.byteOffset, request.data.byteLength);
    switch (request.op) {
      case 'encode':
        return { data: codec.encode(data!) };
      case 'decode':
        return { data: decodeChecked(data!, request.id!) };
      case 'hash': {
        const stream = streams.get(request.stream!) ?? createHash('sha256');
        streams.set(request.stream!, stream.update(data!));
        // The chunk goes back to the caller, which encodes it if it is new.
        return { data, id: createHash('sha256').update(data!).digest('hex') };
      }
      case 'digest': {
        const stream = streams.get(request.stream!) ?? createHash('sha256');
        streams.delete(request.stream!);
        return { id: stream.digest('hex') };
      }
    }
  }

  function decodeChecked(stored: Buffer, id: string): Buffer {
    const plain = codec.decode(stored);
    const actual = createHash('sha256').update(plain).digest('hex');
    if (actual !== id)
      throw new Error(`blob ${id.slice(0, 12)} is damaged: its content hashes to ${actual.slice(0, 12)}`);
    return plain;
  }
}
