import { createHash } from 'node:crypto';
import { Transform, TransformCallback } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

/** Counts the bytes going through and reports the running total. */
export function byteCounter(onBytes: (total: number) => void): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      total += chunk.length;
      onBytes(total);
      done(null, chunk);
    },
  });
}

/**
 * Hashes the bytes going through with SHA-256; `digest()` is valid once the stream ended.
 * `check`, given the hash and length at the end, may fail the stream with an error.
 */
export function sha256Tap(
  check: (sha256: string, bytes: number) => Error | undefined = () => undefined,
): Transform & { digest(): string; bytes(): number } {
  const hash = createHash('sha256');
  let bytes = 0;
  let hex: string | undefined;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      hex = hash.digest('hex');
      done(check(hex, bytes));
    },
  });
  return Object.assign(tap, {
    digest: () => {
      if (hex === undefined) throw new Error('sha256Tap: stream has not ended');
      return hex;
    },
    bytes: () => bytes,
  });
}

/**
 * Limits throughput to `bytesPerSecond` (as restic's --limit-upload): keeps a
 * shared link from being saturated by a backup. Zero or undefined means no limit.
 */
export function rateLimiter(bytesPerSecond: number | undefined): Transform {
  const started = Date.now();
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      sent += chunk.length;
      if (!bytesPerSecond) return done(null, chunk);
      const due = started + (sent / bytesPerSecond) * 1000;
      const wait = due - Date.now();
      if (wait <= 0) return done(null, chunk);
      sleep(wait).then(() => done(null, chunk), done);
    },
  });
}

/**
 * Passes bytes through and fails at the end of the stream when they do not hash to
 * `sha256` or have another length: a consumer that acts only on a cleanly ended stream
 * (a restore's final swap) never acts on damaged data.
 */
export function verifyingTap(expected: { sha256: string; size: number }): Transform {
  return sha256Tap((actual, bytes) =>
    actual === expected.sha256 && bytes === expected.size
      ? undefined
      : new Error(
          `snapshot ${expected.sha256.slice(0, 12)} is damaged: its ${bytes} bytes hash to ${actual.slice(0, 12)}`,
        ),
  );
}

/** Passes bytes through and fails at the end when their count is not `expected.size`. */
export function sizeCheck(expected: { size: number }): Transform {
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      done(
        bytes === expected.size
          ? undefined
          : new Error(`snapshot is damaged: ${bytes} bytes where ${expected.size} were stored`),
      );
    },
  });
}

/** Long enough for a dump tool's quiet start (pg_dump reading a large catalog, a Redis fork saving). */
export const DEFAULT_STALL_TIMEOUT_MS = 120_000;

/**
 * Fails the stream when its source delivers nothing for `idleMs` while the consumer is
 * waiting: a half-open connection (a dump tool or a repository read stuck on a socket that
 * neither closes nor sends) ends the attempt instead of holding it, and the repository
 * lock, for hours. A consumer that is slow to read (backpressure) is not a stall.
 */
export function stallGuard(idleMs: number, failure: () => Error): Transform {
  let timer: NodeJS.Timeout | undefined;
  const guard: Transform = new Transform({
    transform(chunk: Buffer, _enc, done) {
      arm();
      done(null, chunk);
    },
    flush(done) {
      clearTimeout(timer);
      done();
    },
    destroy(err, done) {
      clearTimeout(timer);
      done(err);
    },
  });
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      // Data still buffered for the consumer: it is the consumer that is slow; look again later.
      if (guard.readableLength > 0) return arm();
      guard.destroy(failure());
    }, idleMs);
    timer.unref();
  };
  arm();
  return guard;
}
