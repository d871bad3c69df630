import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { type ByteRange, NotFoundError, type StorageBackend, type StoredObject } from './backend';
import type { BackendFactory } from './registry';

/** A write untouched this long lost its writer (a killed worker). */
const STALE_WRITE_MS = 60 * 60 * 1000;

/** A backend on the local filesystem: writes go to a temporary file, fsynced, then renamed. */
export class LocalBackend implements StorageBackend {
  constructor(readonly root: string) {}

  get location(): string {
    return this.root;
  }

  private file(key: string): string {
    if (key.split('/').some((part) => part === '..' || part === '')) throw new Error(`invalid key "${key}"`);
    return path.join(this.root, key);
  }

  async put(key: string, data: Buffer): Promise<void> {
    await this.writeThen(key, data, (temp, target) => fs.rename(temp, target));
  }

  async create(key: string, data: Buffer): Promise<boolean> {
    // link() fails when the target exists: of two creators, exactly one wins.
    try {
      await this.writeThen(key, data, (temp, target) => fs.link(temp, target));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  }

  /** Writes a fsynced temporary file, then publishes it whole with `publish`. */
  private async writeThen(
    key: string,
    data: Buffer,
    publish: (temp: string, target: string) => Promise<void>,
  ): Promise<void> {
    const target = this.file(key);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.${randomUUID()}.partial`;
    try {
      await fs.writeFile(temp, data, { flush: true });
      await publish(temp, target);
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  async read(key: string, range?: ByteRange): Promise<Buffer> {
    let handle;
    try {
      handle = await fs.open(this.file(key), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(key);
      throw err;
    }
    try {
      if (!range) return await handle.readFile();
      const buffer = Buffer.allocUnsafe(range.length);
      const { bytesRead } = await handle.read(buffer, 0, range.length, range.offset);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    try {
      return { size: (await fs.stat(this.file(key))).size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    const base = this.file(prefix.replace(/\/$/, ''));
    let entries;
    try {
      entries = await fs.readdir(base, { recursive: true, withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const entry of entries) {
      if (!entry.isFile() || entry.name.endsWith('.partial')) continue;
      const file = path.join(entry.parentPath, entry.name);
      const stat = await fs.stat(file).catch(() => undefined);
      if (stat) yield { key: path.relative(this.root, file).split(path.sep).join('/'), size: stat.size };
    }
  }

  /**
   * Removes the temporary files of writes whose writer died (a killed worker). A live
   * write finishes within seconds, so a file untouched for `maxAgeMs` has no writer left.
   */
  async removeStalePartials(maxAgeMs: number): Promise<number> {
    const entries = await fs.readdir(this.root, { recursive: true, withFileTypes: true }).catch(() => []);
    let removed = 0;
    for (const entry of entries) {
      if (!entry.isFile() || !entry.name.endsWith('.partial')) continue;
      const file = path.join(entry.parentPath, entry.name);
      const stat = await fs.stat(file).catch(() => undefined);
      if (stat && Date.now() - stat.mtimeMs > maxAgeMs) {
        await fs.rm(file, { force: true });
        removed++;
      }
    }
    return removed;
  }

  async remove(key: string): Promise<void> {
    await fs.rm(this.file(key), { force: true });
  }
}

/** A plain path: a directory, made for a first backup; what killed writers left is swept on open. */
export const localBackends: BackendFactory = {
  scheme: '',
  async open({ location }, { create }) {
    if (create) await fs.mkdir(location, { recursive: true });
    const local = new LocalBackend(location);
    await local.removeStalePartials(STALE_WRITE_MS);
    return local;
  },
};
