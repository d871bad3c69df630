/**
 * The crash tests' failpoint, as a storage layer only tests build (kopia's beforeop): it
 * counts writes and deletes and, past a given count, kills its process before the next
 * one starts, leaving the repository as a crash at that point would.
 */
import type { StorageBackend } from '../../repository/storage/backend';
import { ForwardingBackend, type Operation, isWrite } from '../../repository/storage/wrapper';

class FailpointBackend extends ForwardingBackend {
  writes = 0;

  constructor(
    inner: StorageBackend,
    private readonly killAfterWrites: number,
  ) {
    super(inner);
  }

  protected override call<T>(operation: Operation, _key: string, request: () => Promise<T>): Promise<T> {
    if (isWrite(operation) && ++this.writes > this.killAfterWrites) process.kill(process.pid, 'SIGKILL');
    return request();
  }
}

/** A layer that kills the process before its write number `count + 1`. */
export function killAfterWrites(count: number) {
  return (inner: StorageBackend): StorageBackend => new FailpointBackend(inner, count);
}

/** A layer that only counts writes and deletes: how a test picks its kill points. */
export function countingWrites() {
  let layer: FailpointBackend | undefined;
  return {
    wrap: (inner: StorageBackend): StorageBackend => (layer = new FailpointBackend(inner, Infinity)),
    writes: () => layer?.writes ?? 0,
  };
}
