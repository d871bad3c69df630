/**
 * Retries around any StorageBackend, written once for all of them: object stores fail
 * transiently (throttling, a reset connection, a failover).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { NotFoundError, type StorageBackend } from './backend';
import { ForwardingBackend, type Operation } from './wrapper';

export interface RetryOptions {
  /** How long a request is retried, counted from its first try, before its error is final. */
  retryForMs: number;
  /** A cap on tries per request, the first included; default: none but the time. */
  attempts?: number;
  /** Delay before the first retry; it doubles each time, with jitter, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs?: number;
  /** Told of every retry, for logs. */
  onRetry?: (operation: string, key: string, attempt: number, error: Error) => void;
}

/** How a repository's requests are retried and how many are in flight at once (limit.ts). */
export interface ResilienceOptions extends RetryOptions {
  concurrency: number;
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

export class RetryingBackend extends ForwardingBackend {
  constructor(
    inner: StorageBackend,
    private readonly options: RetryOptions = defaultResilience,
  ) {
    super(inner);
  }

  protected override async call<T>(operation: Operation, key: string, request: () => Promise<T>): Promise<T> {
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
