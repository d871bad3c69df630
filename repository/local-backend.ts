import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import type { StorageBackend } from './backend';

/** A backend on the local filesystem: writes go to a temporary file, fsynced, then renamed. */
export class LocalBackend implements StorageBackend {
  constructor(readonly root: string) {}

  private file(key: string): string {
    if (key.split('/').some((part) => part === '..' || part === '')) throw new Error(`invalid key "${key}"`);
    return path.join(this.root, key);
  }

  async put(key: string, data: Readable): Promise<void> {
    const target = this.file(key);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.${randomUUID()}.partial`;
    try {
      await pipeline(data, createWriteStream(temp, { flush: true }));
      await fs.rename(temp, target);
    } catch (err) {
      await fs.rm(temp, { force: true });
      throw err;
    }
  }

  get(key: string): Readable {
    return createReadStream(this.file(key));
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    try {
      return { size: (await fs.stat(this.file(key))).size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
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
      yield path.relative(this.root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
    }
  }

  /**
   * Removes the temporary files of uploads whose writer died (a killed worker). A live
   * upload writes continuously, so a file untouched for `maxAgeMs` has no writer left.
   */
  async removeStalePartials(prefixes: string[], maxAgeMs: number): Promise<number> {
    const listings = await Promise.all(
      prefixes.map((p) => fs.readdir(this.file(p), { recursive: true, withFileTypes: true }).catch(() => [])),
    );
    const entries = listings.flat();
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

  async rename(from: string, to: string): Promise<void> {
    const target = this.file(to);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.rename(this.file(from), target);
  }

  async remove(key: string): Promise<void> {
    await fs.rm(this.file(key), { force: true });
  }
}
