/**
 * A limit on requests in flight, around any backend: object stores limit how many
 * requests a client may have open, and a repository's many parallel reads must not
 * exceed it. A request holds its slot for all of its retries (the limit wraps retry.ts).
 */
import pLimit from 'p-limit';
import type { StorageBackend } from './backend';
import { ForwardingBackend, type Operation } from './wrapper';

export class ConcurrencyLimitedBackend extends ForwardingBackend {
  private readonly limit: pLimit.Limit;

  constructor(inner: StorageBackend, concurrency: number) {
    super(inner);
    this.limit = pLimit(concurrency);
  }

  protected override call<T>(_operation: Operation, _key: string, request: () => Promise<T>): Promise<T> {
    return this.limit(request);
  }
}
