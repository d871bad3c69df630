/** Retries and the concurrency limit, written once around any backend. */
import path from 'node:path';
import { NotFoundError, type StorageBackend } from '../repository/backend';
import { LocalBackend } from '../repository/local-backend';
import { ResilientBackend } from '../repository/resilient-backend';
import { tempDir } from './support/stores';

/** A local backend whose reads fail `failures` times before working, and that counts reads in flight. */
function flaky(failures: number) {
  const inner = new LocalBackend(path.join(tempDir(), 'repo'));
  const state = { calls: 0, inFlight: 0, maxInFlight: 0 };
  const backend: StorageBackend = Object.assign(Object.create(inner) as LocalBackend, {
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
  const resilient = new ResilientBackend(backend, {
    retryForMs: 10_000,
    attempts: 3,
    baseDelayMs: 1,
    concurrency: 4,
    onRetry: (_op, _key, attempt) => retries.push(attempt),
  });
  expect((await resilient.read('k')).toString()).toBe('value');
  expect(retries).toEqual([1, 2]);
  expect(state.calls).toBe(3);
  const broken = flaky(10);
  const failing = new ResilientBackend(broken.backend, {
    retryForMs: 10_000,
    attempts: 3,
    baseDelayMs: 1,
    concurrency: 4,
  });
  await expect(failing.read('k')).rejects.toThrow('ECONNRESET');
  expect(broken.state.calls).toBe(3);
});

test('an absent key is an answer, not retried; requests in flight stay within the limit', async () => {
  const { inner, backend, state } = flaky(0);
  const resilient = new ResilientBackend(backend, { retryForMs: 10_000, baseDelayMs: 1, concurrency: 3 });
  await expect(resilient.read('absent')).rejects.toBeInstanceOf(NotFoundError);
  expect(state.calls).toBe(1);
  await inner.put('k', Buffer.from('v'));
  await Promise.all(Array.from({ length: 20 }, () => resilient.read('k')));
  expect(state.maxInFlight).toBe(3);
});
