/**
 * Worker threads that encode (compress, seal) and decode (open, decompress, re-hash)
 * blobs: with chunking and hashing on the main thread, both cores stay busy. Buffers
 * move to and from the workers without copying where Node allows it.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { codecHandler } from './codec-handler';

export interface CodecRequest {
  seq: number;
  op: 'encode' | 'decode' | 'hash' | 'digest';
  data?: Uint8Array;
  /** For decode: the blob's id, which its plaintext must hash to. */
  id?: string;
  /** For hash and digest: the snapshot whose running hash this chunk extends. */
  stream?: number;
}
export interface CodecResponse {
  seq: number;
  data?: Uint8Array;
  /** hash: the chunk's SHA-256; digest: the whole stream's. */
  id?: string;
  error?: string;
}

export class BlobDamagedError extends Error {}

interface Pending {
  resolve: (response: CodecResponse) => void;
  reject: (err: Error) => void;
}

/** Idle workers stop after this long; the next request starts them again. */
const IDLE_MS = 10_000;

export interface StreamHasher {
  hash(chunk: Buffer): Promise<{ id: string; chunk: Buffer }>;
  digest(): Promise<string>;
  /** Ends a stream that will not be digested (a failed snapshot). */
  abandon(): void;
}

/** What the pool uses of a worker thread; an inline codec offers the same. */
type CodecThread = Pick<Worker, 'postMessage' | 'ref' | 'unref' | 'terminate'>;

export class CodecPool {
  private workers: CodecThread[] = [];
  private load: number[] = [];
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private streams = 0;
  /** Streams whose running hash lives in the first worker: it must not stop meanwhile. */
  private readonly openStreams = new Set<number>();
  private idleTimer?: NodeJS.Timeout;

  constructor(
    private readonly masterKey: Buffer | undefined,
    /** Worker threads; 0 runs the codec on this thread (unit tests: no built worker needed). */
    private readonly size = defaultPoolSize(),
    private readonly level = 3,
  ) {}

  /** The stored form of a blob. `plain` is handed over: the caller must not use it again. */
  async encode(plain: Buffer): Promise<Buffer> {
    return asBuffer((await this.submit({ op: 'encode', data: plain })).data!);
  }

  /** The blob's plaintext; a BlobDamagedError when it fails authentication or its hash. */
  async decode(stored: Buffer, id: string): Promise<Buffer> {
    return asBuffer((await this.submit({ op: 'decode', data: stored, id })).data!);
  }

  /**
   * A hasher for one snapshot: each chunk's SHA-256, and at the end the whole stream's.
   * Its chunks all go to the first worker, which sees them in the order they were sent.
   */
  streamHasher(): StreamHasher {
    const stream = ++this.streams;
    this.openStreams.add(stream);
    return {
      hash: async (chunk) => {
        const response = await this.submit({ op: 'hash', data: chunk, stream }, 0);
        return { id: response.id!, chunk: asBuffer(response.data!) };
      },
      digest: async () => {
        try {
          return (await this.submit({ op: 'digest', stream }, 0)).id!;
        } finally {
          this.openStreams.delete(stream);
        }
      },
      abandon: () => {
        if (this.openStreams.delete(stream)) void this.submit({ op: 'digest', stream }, 0).catch(() => {});
      },
    };
  }

  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private start(): void {
    const { masterKey, level } = this;
    const count = Math.max(1, this.size);
    this.workers = Array.from({ length: count }, () => {
      const thread: CodecThread =
        this.size === 0
          ? inlineCodec(masterKey, level, (response) => this.settle(thread, response))
          : new Worker(workerFile(), { workerData: { masterKey, level } })
              .on('message', (response: CodecResponse) => this.settle(thread, response))
              .on('error', (err) => this.failAll(err));
      return thread;
    });
    this.load = this.workers.map(() => 0);
  }

  private submit(request: Omit<CodecRequest, 'seq'>, worker?: number): Promise<CodecResponse> {
    clearTimeout(this.idleTimer);
    if (this.workers.length === 0) this.start();
    const seq = ++this.seq;
    const index = worker ?? this.load.indexOf(Math.min(...this.load));
    this.load[index]++;
    const data = request.data && ownedCopy(request.data);
    return new Promise<CodecResponse>((resolve, reject) => {
      // Referenced while a request is out, so the process waits for the answer; idle
      // workers never keep a finished command alive.
      if (this.pending.size === 0) this.workers.forEach((w) => w.ref());
      this.pending.set(seq, { resolve, reject });
      this.workers[index].postMessage({ ...request, seq, data }, data ? [data.buffer as ArrayBuffer] : []);
    });
  }

  private settle(worker: CodecThread, response: CodecResponse): void {
    this.load[this.workers.indexOf(worker)]--;
    const pending = this.pending.get(response.seq);
    if (!pending) return;
    this.pending.delete(response.seq);
    if (this.pending.size === 0) this.whenIdle();
    if (response.error) pending.reject(new BlobDamagedError(response.error));
    else pending.resolve(response);
  }

  /** Lets the process exit, and stops the threads after a while of nothing to do. */
  private whenIdle(): void {
    this.workers.forEach((w) => w.unref());
    if (this.openStreams.size > 0) return;
    this.idleTimer = setTimeout(() => {
      if (this.pending.size === 0 && this.openStreams.size === 0) void this.close();
    }, IDLE_MS).unref();
  }

  private failAll(err: Error): void {
    for (const { reject } of this.pending.values()) reject(err);
    this.pending.clear();
  }
}

/** The codec on the calling thread, answering each request on a later turn, as a worker would. */
function inlineCodec(
  masterKey: Buffer | undefined,
  level: number,
  answer: (response: CodecResponse) => void,
): CodecThread {
  const handle = codecHandler(masterKey, level);
  return {
    postMessage: (request: CodecRequest) => setImmediate(() => answer(handle(request))),
    ref: () => {},
    unref: () => {},
    terminate: async () => 0,
  };
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** A buffer that owns its whole ArrayBuffer, so it can be transferred (not a slice of Node's pool). */
function ownedCopy(data: Uint8Array): Uint8Array {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) return data;
  const copy = new Uint8Array(data.byteLength);
  copy.set(data);
  return copy;
}

/** One worker per core but one, which chunks and hashes; at least one. */
function defaultPoolSize(): number {
  return Math.max(1, Math.min(4, os.availableParallelism() - 1));
}

/** The compiled worker: beside this file when running from dist/, else in dist/ (ts-jest runs sources). */
function workerFile(): string {
  const beside = path.join(__dirname, 'codec-worker.js');
  if (existsSync(beside)) return beside;
  const built = path.join(__dirname, '..', '..', 'dist', 'repository', 'engine', 'codec-worker.js');
  if (existsSync(built)) return built;
  throw new Error(`the codec worker is not built: run "npm run build" (looked for ${beside} and ${built})`);
}
