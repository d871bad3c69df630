/**
 * Retries and a concurrency limit around any StorageBackend, written once for all of
 * them: object stores fail transiently (throttling, a reset connection) and limit how
 * many requests a client may have in flight.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import { type ByteRange, NotFoundError, type StorageBackend, type StoredObject } from './backend';

export interface ResilienceOptions {
  /** How long a request is retried, counted from its first try, before its error is final. */
  retryForMs: number;
  /** A cap on tries per request, the first included; default: none but the time. */
  attempts?: number;
  /** Delay before the first retry; it doubles each time, with jitter, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs?: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Told of every retry, for logs. */
  onRetry?: (operation: string, key: string, attempt: number, error: Error) => void;
}

/**
 * Sized for real outages: a request is retried for 90 s (0.25 s doubling to 15 s), which
 * rides out a minute of S3 trouble (a failover, throttling, a flapping link); a step's own
 * retries come on top. A stalled request ends on the S3 client's timeout and counts here.
 */
export const defaultResilience: ResilienceOptions = {
  retryForMs: 90_000,
  baseDelayMs: 250,
  maxDelayMs: 15_000,
  concurrency: 8,
};

/** A repository request that failed for good: names the repository, the operation and the key. */
export class RepositoryError extends Error {
  readonly code: string | undefined;
  constructor(location: string, operation: string, key: string, cause: Error) {
    // No `cause`: run results show the innermost message, and this one must name the repository.
    super(`repository ${location}: ${operation} ${key} failed: ${describeCause(cause)}`);
    this.code = (cause as NodeJS.ErrnoException).code;
  }
}

/** Errors no retry can mend: a full or read-only disk, a denied permission. */
const permanentCodes = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM']);

function describeCause(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return `no space left (${code}); free space, then run it again`;
  return err.message || err.name;
}

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
      const giveUpAt = Date.now() + this.options.retryForMs;
      for (let attempt = 1; ; attempt++) {
        try {
          return await request();
        } catch (err) {
          // An absent key is an answer, not a failure.
          if (err instanceof NotFoundError) throw err;
          const delay = this.jittered(attempt);
          if (this.final(err as Error, attempt, Date.now() + delay > giveUpAt))
            throw new RepositoryError(this.location, operation, key, err as Error);
          this.options.onRetry?.(operation, key, attempt, err as Error);
          await sleep(delay);
        }
      }
    });
  }

  private final(err: Error, attempt: number, outOfTime: boolean): boolean {
    const permanent = permanentCodes.has((err as NodeJS.ErrnoException).code ?? '');
    return permanent || outOfTime || attempt >= (this.options.attempts ?? Infinity);
  }

  private jittered(attempt: number): number {
    const { baseDelayMs, maxDelayMs = Infinity } = this.options;
    const delay = Math.min(baseDelayMs * 2 ** (attempt - 1), maxDelayMs);
    return delay / 2 + Math.random() * delay;
  }
}
