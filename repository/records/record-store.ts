/**
 * Small JSON records under keys (kopia's repo/manifest): catalog entries, holds, drill
 * reports, locks. Each is sealed like everything else the repository stores; a
 * first-format repository's records are plain JSON and still read.
 */
import type { StorageBackend } from '../storage/backend';
import { absentAs } from '../engine/format';
import type { HeaderSeal } from '../engine/pack';

export class RecordStore {
  constructor(
    private readonly backend: StorageBackend,
    private readonly seal: HeaderSeal,
    /** A first-format repository, whose records may be plain JSON. */
    private readonly plainRecordsToo = false,
  ) {}

  /** The record under `key`, or undefined when there is none. */
  async read<T>(key: string): Promise<T | undefined> {
    const stored = await this.backend.read(key).catch(absentAs(undefined));
    if (!stored) return undefined;
    try {
      return JSON.parse(this.seal.open(stored).toString('utf8')) as T;
    } catch (err) {
      if (this.plainRecordsToo && stored[0] === 0x7b) return JSON.parse(stored.toString('utf8')) as T;
      throw err;
    }
  }

  /** Writes or replaces a record that changes (a lock renewed, a hold placed again). */
  async put(key: string, value: unknown): Promise<void> {
    await this.backend.put(key, this.sealed(value));
  }

  /** Writes a record only where none is; false, and nothing written, when one exists. */
  create(key: string, value: unknown): Promise<boolean> {
    return this.backend.create(key, this.sealed(value));
  }

  /**
   * Records are written once: the same content again is a retry and accepted, other
   * content refused with `clash` (what the record is).
   */
  async writeOnce(key: string, value: unknown, clash: string): Promise<void> {
    const existing = await this.read<unknown>(key);
    if (existing) {
      if (JSON.stringify(existing) === JSON.stringify(value)) return;
      throw new Error(`${clash} with other content`);
    }
    await this.put(key, value);
  }

  /** The keys of the records under `prefix`. */
  async *keys(prefix: string): AsyncGenerator<string> {
    for await (const { key } of this.backend.list(prefix)) if (key.endsWith('.json')) yield key;
  }

  /** The records under `prefix`, with their keys; one removed while listing is left out. */
  async *list<T>(prefix: string): AsyncGenerator<{ key: string; record: T }> {
    for await (const key of this.keys(prefix)) {
      const record = await this.read<T>(key);
      if (record) yield { key, record };
    }
  }

  remove(key: string): Promise<void> {
    return this.backend.remove(key);
  }

  private sealed(value: unknown): Buffer {
    return this.seal.seal(Buffer.from(JSON.stringify(value, null, 2)));
  }
}
