/**
 * What every storage wrapper shares: it forwards each request to the backend it wraps,
 * through one hook, `call`, that sees the operation and the key (kopia's beforeop). A
 * wrapper overrides `call` only; the six methods are written here once.
 */
import type { ByteRange, StorageBackend, StoredObject, WrappingBackend } from './backend';

export type Operation = 'put' | 'create' | 'read' | 'stat' | 'list' | 'remove';

/** Operations that change what the repository holds. */
export function isWrite(operation: Operation): boolean {
  return operation === 'put' || operation === 'create' || operation === 'remove';
}

/** Wraps a backend in one more layer: how the storage stack is built (open.ts). */
export type BackendWrapper = (inner: StorageBackend) => StorageBackend;

export abstract class ForwardingBackend implements WrappingBackend {
  constructor(readonly inner: StorageBackend) {}

  get location(): string {
    return this.inner.location;
  }

  /** Runs one request to the inner backend; a listing arrives here collected whole. */
  protected abstract call<T>(operation: Operation, key: string, request: () => Promise<T>): Promise<T>;

  put(key: string, data: Buffer): Promise<void> {
    return this.call('put', key, () => this.inner.put(key, data));
  }

  create(key: string, data: Buffer): Promise<boolean> {
    return this.call('create', key, () => this.inner.create(key, data));
  }

  read(key: string, range?: ByteRange): Promise<Buffer> {
    return this.call('read', key, () => this.inner.read(key, range));
  }

  stat(key: string): Promise<{ size: number } | undefined> {
    return this.call('stat', key, () => this.inner.stat(key));
  }

  remove(key: string): Promise<void> {
    return this.call('remove', key, () => this.inner.remove(key));
  }

  /** A listing is one request as a whole (retried, counted against the limit): cheap beside the work that follows it. */
  async *list(prefix: string): AsyncIterable<StoredObject> {
    yield* await this.call('list', prefix, async () => {
      const found: StoredObject[] = [];
      for await (const object of this.inner.list(prefix)) found.push(object);
      return found;
    });
  }
}
