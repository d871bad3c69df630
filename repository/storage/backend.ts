import { Readable } from 'node:stream';

/** A range of bytes within a stored object. */
export interface ByteRange {
  offset: number;
  length: number;
}

export interface StoredObject {
  key: string;
  size: number;
}

/**
 * The one interface a storage backend implements (as restic's): keys are slash-separated
 * names, values are immutable once written, and each is small enough to hold in memory
 * (a pack, an index, a catalog record). Retries and concurrency limits wrap this
 * interface (retry.ts, limit.ts); they are never written into a backend. What every
 * backend must do is checked once, for all of them, by test/contracts/backend.ts.
 */
export interface StorageBackend {
  /** Where it is, for messages: a directory or an s3:// address. */
  readonly location: string;
  /** Stores `data` under `key` atomically: a reader sees all of it or nothing. */
  put(key: string, data: Buffer): Promise<void>;
  /** Stores `data` only if `key` is absent; false, and nothing written, when it exists. */
  create(key: string, data: Buffer): Promise<boolean>;
  /** The content of `key`, or of a range of it; a NotFoundError when absent. */
  read(key: string, range?: ByteRange): Promise<Buffer>;
  stat(key: string): Promise<{ size: number } | undefined>;
  /** Every object under `prefix` (a folder: "data/", "catalog/shop/"), in no particular order. */
  list(prefix: string): AsyncIterable<StoredObject>;
  /** Removes `key`; removing an absent key is not an error (a retried delete). */
  remove(key: string): Promise<void>;
}

export class NotFoundError extends Error {
  readonly code = 'ENOENT';
  constructor(readonly key: string) {
    super(`${key} is not in the repository`);
  }
}

/**
 * A backend around another (retries, a limit, a test's failpoint): `inner` is the one
 * it wraps, so that `unwrap` can find what lies beneath.
 */
export interface WrappingBackend extends StorageBackend {
  readonly inner: StorageBackend;
}

/**
 * The backend of class `type` in a chain of wrappers, outermost first, or undefined
 * (restic's AsBackend): asks what a repository is stored on without knowing its wrappers.
 */
export function unwrap<B extends StorageBackend>(
  backend: StorageBackend,
  type: abstract new (...args: never[]) => B,
): B | undefined {
  for (let b: StorageBackend | undefined = backend; b; b = (b as Partial<WrappingBackend>).inner)
    if (b instanceof type) return b;
  return undefined;
}

/** An object too large to hold at once (a first-format snapshot), read piece by piece. */
export function streamObject(
  backend: StorageBackend,
  key: string,
  size: number,
  pieceSize = 4 << 20,
): Readable {
  async function* pieces() {
    for (let offset = 0; offset < size; offset += pieceSize) {
      yield await backend.read(key, { offset, length: Math.min(pieceSize, size - offset) });
    }
  }
  return Readable.from(pieces(), { objectMode: false });
}
