import type { Readable } from 'node:stream';

/**
 * The one interface a storage backend implements (as restic's): keys are
 * slash-separated names. Retries, rate limits and caching wrap this interface;
 * they are never written into a backend.
 */
export interface StorageBackend {
  /** Stores a stream under `key` atomically: a reader sees all of it or nothing. */
  put(key: string, data: Readable): Promise<void>;
  /** Streams the content of `key`; fails with code ENOENT when it is absent. */
  get(key: string): Readable;
  /** Size of `key`, or undefined when absent. */
  stat(key: string): Promise<{ size: number } | undefined>;
  /** Every key under `prefix`, in no particular order. */
  list(prefix: string): AsyncIterable<string>;
  /** Moves a key; the destination is replaced atomically. */
  rename(from: string, to: string): Promise<void>;
  remove(key: string): Promise<void>;
}
