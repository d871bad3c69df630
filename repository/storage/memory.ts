/**
 * A backend in this process's memory (restic's mem, kopia's map storage): for engine
 * tests that need no disk and no server. It keeps the same contract as the others
 * (test/contracts/backend.ts). `memory://<name>` names one store per process, so that a
 * repository opened twice under one name sees its own objects.
 */
import { type ByteRange, NotFoundError, type StorageBackend, type StoredObject } from './backend';
import type { BackendFactory } from './registry';

export class MemoryBackend implements StorageBackend {
  private readonly objects = new Map<string, Buffer>();

  constructor(readonly location = 'memory://') {}

  async put(key: string, data: Buffer): Promise<void> {
    // A copy: the caller may reuse its buffer, and a stored value never changes.
    this.objects.set(key, Buffer.from(data));
  }

  async create(key: string, data: Buffer): Promise<boolean> {
    if (this.objects.has(key)) return false;
    this.objects.set(key, Buffer.from(data));
    return true;
  }

  async read(key: string, range?: ByteRange): Promise<Buffer> {
    const stored = this.objects.get(key);
    if (!stored) throw new NotFoundError(key);
    if (!range) return Buffer.from(stored);
    return Buffer.from(stored.subarray(range.offset, range.offset + range.length));
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    const stored = this.objects.get(key);
    return stored && { size: stored.length };
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    // A copy of the keys: a caller may remove what it lists as it goes.
    for (const [key, data] of [...this.objects]) if (key.startsWith(prefix)) yield { key, size: data.length };
  }

  async remove(key: string): Promise<void> {
    this.objects.delete(key);
  }
}

const named = new Map<string, MemoryBackend>();

export const memoryBackends: BackendFactory = {
  scheme: 'memory',
  async open({ location }) {
    const backend = named.get(location) ?? new MemoryBackend(location);
    named.set(location, backend);
    return backend;
  },
};
