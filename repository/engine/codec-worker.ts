/**
 * A codec worker thread: hashes chunks (and, in order, whole snapshots), compresses and
 * seals blobs, or opens, decompresses and re-hashes them, so this work runs beside the
 * main thread's reading and chunking.
 */
import { type Hash, createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { ChunkCodec } from './codec';
import { SealingKey } from './crypto';
import { plainHeader } from './pack';
import type { CodecRequest, CodecResponse } from './codec-pool';

const { masterKey, level } = workerData as { masterKey?: Uint8Array; level: number };
const codec = new ChunkCodec(masterKey ? new SealingKey(Buffer.from(masterKey)) : plainHeader, level);
/** Running hashes of whole snapshots, by stream: their chunks arrive here in order. */
const streams = new Map<number, Hash>();

parentPort!.on('message', (request: CodecRequest) => {
  let response: CodecResponse;
  try {
    response = { seq: request.seq, ...handle(request) };
  } catch (err) {
    response = { seq: request.seq, error: (err as Error).message };
  }
  parentPort!.postMessage(response, response.data ? [response.data.buffer as ArrayBuffer] : []);
});

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
