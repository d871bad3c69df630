/** Retries and the concurrency limit, written once around any backend, and the stack built from them. */
import { NotFoundError, type StorageBackend, unwrap } from '../../repository/storage/backend';
import { ConcurrencyLimitedBackend } from '../../repository/storage/limit';
import { MemoryBackend } from '../../repository/storage/memory';
import { openStorage } from '../../repository/storage/open';
import { type RetryOptions, RetryingBackend } from '../../repository/storage/retry';
import { countingWrites } from '../support/failpoint-backend';

const quick: RetryOptions = { retryForMs: 10_000, attempts: 3, baseDelayMs: 1 };

/** A memory backend whose reads fail `failures` times before working, and that counts reads in flight. */
function flaky(failures: number) {
  const inner = new MemoryBackend();
  const state = { calls: 0, inFlight: 0, maxInFlight: 0 };
  const backend: StorageBackend = Object.assign(Object.create(inner) as MemoryBackend, {
    async read(key: string) {
      state.calls++;
      state.inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      try {
        await new Promise((r) => setTimeout(r, 5));
        if (state.calls <= failures) throw new Error('ECONNRESET');
        return await inner.read(key);
      } finally {
        state.inFlight--;
      }
    },
  });
  return { inner, backend, state };
}

test('a transient failure is retried with backoff, and told of; the last one is thrown', async () => {
  const { inner, backend, state } = flaky(2);
  await inner.put('k', Buffer.from('value'));
  const retries: number[] = [];
  const retrying = new RetryingBackend(backend, {
    ...quick,
    onRetry: (_op, _key, attempt) => retries.push(attempt),
  });
  expect((await retrying.read('k')).toString()).toBe('value');
  expect(retries).toEqual([1, 2]);
  expect(state.calls).toBe(3);
  const broken = flaky(10);
  const failing = new RetryingBackend(broken.backend, quick);
  await expect(failing.read('k')).rejects.toThrow('repository memory://: read k failed: ECONNRESET');
  expect(broken.state.calls).toBe(3);
});

test('an absent key is an answer, not retried; requests in flight stay within the limit', async () => {
  const { inner, backend, state } = flaky(0);
  const limited = new ConcurrencyLimitedBackend(new RetryingBackend(backend, quick), 3);
  await expect(limited.read('absent')).rejects.toBeInstanceOf(NotFoundError);
  expect(state.calls).toBe(1);
  await inner.put('k', Buffer.from('v'));
  await Promise.all(Array.from({ length: 20 }, () => limited.read('k')));
  expect(state.maxInFlight).toBe(3);
});

test('a location opens its backend inside retries and the limit, then the layers given', async () => {
  const counter = countingWrites();
  const stack = await openStorage({ location: 'memory://stack-test' }, { wrappers: [counter.wrap] });
  expect(unwrap(stack, MemoryBackend)?.location).toBe('memory://stack-test');
  expect(unwrap(stack, RetryingBackend)).toBeDefined();
  expect(unwrap(stack, ConcurrencyLimitedBackend)).toBeDefined();
  await stack.put('a', Buffer.from('1'));
  await stack.create('b', Buffer.from('2'));
  await stack.read('a');
  await stack.remove('a');
  expect(counter.writes()).toBe(3);
  await expect(openStorage({ location: 'ftp://somewhere' })).rejects.toThrow(
    'repository ftp://somewhere: no backend for "ftp://" locations (known: a directory, s3://, memory://)',
  );
});
