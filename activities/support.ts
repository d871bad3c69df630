/**
 * What every activity shares: heartbeats with progress, the retry budget through outages,
 * user errors made non-retryable, throttled and consumed streams, and step timings.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { Readable } from 'node:stream';
import { pipeline as chain } from 'node:stream';
import { UserError } from '../model/errors';
import { MissingRepositoryError } from '../repository/engine/format';
import { RepositoryError } from '../repository/storage/retry';
import { DEFAULT_STALL_TIMEOUT_MS, rateLimiter, stallGuard } from '../repository/engine/streams';
import type { ActivitySettings } from './deps';

/** When a step ran, by the worker's clock. */
export interface StepTiming {
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}

export interface Progress {
  phase: string;
  bytes: number;
}
export type ProgressFn = (p: Progress) => void;

/** What a connection outage looks like, from Node, the AWS SDK and the dump tools. */
const outage =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|socket hang up|stalled|timed? ?out|could not connect|connection refused|server closed the connection|lost connection|can't connect|connection reset|terminating connection/i;

/** Attempts a failure that does not look like an outage gets: a broken target fails in seconds. */
const ATTEMPTS_FOR_OTHER_FAILURES = 3;

/**
 * A snapshot or restore step's retry budget: a failure that looks like an outage (a refused,
 * reset or stalled connection, the repository unreachable) is retried as long as the step's
 * policy allows, to ride out a database failover or a minute of S3 trouble; any other (a
 * broken target, a tool's own error) comes out the same each time and stops after a few.
 */
export async function withOutageRetries<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await withoutRetryingUserErrors(work);
  } catch (err) {
    const decided = err instanceof ApplicationFailure || err instanceof CancelledFailure;
    const message = messageOf(err);
    if (decided || outage.test(message)) throw err;
    if (Context.current().info.attempt >= ATTEMPTS_FOR_OTHER_FAILURES)
      throw ApplicationFailure.nonRetryable(message, 'StepFailed');
    throw err;
  }
}

/**
 * A UserError (a missing backup, a datastore that is not there, a restore that must be
 * refused) comes out the same on every attempt: fail the step at once instead of retrying.
 */
export async function withoutRetryingUserErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof UserError)
      throw ApplicationFailure.nonRetryable(
        err.message,
        err instanceof MissingRepositoryError ? MissingRepositoryError.failureType : 'UserError',
      );
    throw err;
  }
}

/**
 * Runs `work`, which reads `stream`, and destroys the stream afterwards whatever happened:
 * when the repository side fails, the dump tool behind the stream is stopped instead of
 * left running with its transaction and locks open.
 */
export async function consuming<T>(stream: Readable, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    stream.destroy();
  }
}

export function stalled(ms: number): string {
  return `no data for ${Math.round(ms / 1000)} s: the connection stalled`;
}

/**
 * A pass-through that fails its stream when the source sends nothing for the worker's
 * stall timeout (default 2 min); `failure` turns the message into the error to raise.
 */
export function stallGuardOf(
  settings: Pick<ActivitySettings, 'stallTimeoutMs'>,
  failure: (message: string) => Error = (message) => new Error(message),
) {
  const ms = settings.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  return stallGuard(ms, () => failure(stalled(ms)));
}

/**
 * Names the store a failure came from (`orders (postgres 127.0.0.1:5432/orders): ...`),
 * unless it is the repository's (which names itself) or a decision already made.
 */
export function fromStore(err: unknown, service: string, where: string): unknown {
  const decided =
    err instanceof ApplicationFailure || err instanceof CancelledFailure || err instanceof UserError;
  const message = messageOf(err);
  if (decided || err instanceof RepositoryError || message.includes(where)) return err;
  // No `cause`: run results show the innermost message, and this one must name the store.
  return new Error(`${service} (${where}): ${message}`);
}

/** Not `instanceof Error`: errors from Node's own modules may come from another realm (jest's). */
function messageOf(err: unknown): string {
  return String((err as Error | undefined)?.message ?? err);
}

export function timing(started: number): StepTiming {
  const finished = Date.now();
  return {
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationMs: finished - started,
  };
}

/** What an adapter is told about the step: its staging area and the step's cancellation. */
export function adapterContext(stagingId: string) {
  return { stagingId, signal: Context.current().cancellationSignal };
}

/** `source` at no more than `rateLimit` bytes per second, destroyed when the step is cancelled. */
export function throttled(source: Readable, rateLimit: number | undefined, signal: AbortSignal): Readable {
  const limited = chain(source, rateLimiter(rateLimit), () => {});
  signal.addEventListener('abort', () => limited.destroy(new Error('cancelled')), { once: true });
  return limited;
}

/**
 * Heartbeats on progress and on a timer, so a step busy in a phase that reports no
 * bytes (a database swap, SQLite's backup API) still proves its worker alive.
 */
export async function withHeartbeats<T>(work: (progress: ProgressFn) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  let last: Progress = { phase: 'start', bytes: 0 };
  ctx.heartbeat(last);
  const timer = setInterval(() => ctx.heartbeat(last), 1000);
  try {
    return await work((p) => {
      last = p;
      ctx.heartbeat(p);
    });
  } finally {
    clearInterval(timer);
  }
}
