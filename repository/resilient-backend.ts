/**
 * Retries and a concurrency limit around any StorageBackend, written once for all of
 * them: object stores fail transiently (throttling, a reset connection) and limit how
 * many requests a client may have in flight.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import { type ByteRange, NotFoundError, type StorageBackend, type StoredObject } from './backend';

export interface ResilienceOptions {
  /** Tries per request, the first included. */
  attempts: number;
  /** Delay before the first retry; it doubles each time, with jitter. */
  baseDelayMs: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Told of every retry, for logs. */
  onRetry?: (operation: string, key: string, attempt: number, error: Error) => void;
}

export const defaultResilience: ResilienceOptions = { attempts: 5, baseDelayMs: 100, concurrency: 8 };

export class ResilientBackend implements StorageBackend {
  private readonly limit: pLimit.Limit;
  /** Crash tests' failpoint: the process kills itself after this many writes. */
  private readonly killAfterWrites = Number(process.env.LAZARUS_FAILPOINT_KILL_AFTER_WRITES) || Infinity;
  private writes = 0;

  /** Writes and deletes so far: crash tests pick their kill points from it. */
  get writeCount(): number {
    return this.writes;
  }

  constructor(
    readonly inner: StorageBackend,
    private readonly options: ResilienceOptions = defaultResilience,
  ) {
    this.limit = pLimit(options.concurrency);
  }

  get location(): string {
    return this.inner.location;
  }

  put(key: string, data: Buffer): Promise<void> {
    this.countWrite();
    return this.call('put', key, () => this.inner.put(key, data));
  }

  create(key: string, data: Buffer): Promise<boolean> {
    this.countWrite();
    return this.call('create', key, () => this.inner.create(key, data));
  }

  read(key: string, range?: ByteRange): Promise<Buffer> {
    return this.call('read', key, () => this.inner.read(key, range));
  }

  stat(key: string): Promise<{ size: number } | undefined> {
    return this.call('stat', key, () => this.inner.stat(key));
  }

  remove(key: string): Promise<void> {
    this.countWrite();
    return this.call('remove', key, () => this.inner.remove(key));
  }

  private countWrite(): void {
    if (++this.writes > this.killAfterWrites) process.kill(process.pid, 'SIGKILL');
  }

  /** A listing is retried as a whole: it is cheap beside the work that follows it. */
  async *list(prefix: string): AsyncIterable<StoredObject> {
    const objects = await this.call('list', prefix, async () => {
      const found: StoredObject[] = [];
      for await (const object of this.inner.list(prefix)) found.push(object);
      return found;
    });
    yield* objects;
  }

  private call<T>(operation: string, key: string, request: () => Promise<T>): Promise<T> {
    return this.limit(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await request();
        } catch (err) {
          // An absent key is an answer, not a failure.
          if (err instanceof NotFoundError || attempt >= this.options.attempts) throw err;
          this.options.onRetry?.(operation, key, attempt, err as Error);
          const delay = this.options.baseDelayMs * 2 ** (attempt - 1);
          await sleep(delay / 2 + Math.random() * delay);
        }
      }
    });
  }
}
