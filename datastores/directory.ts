import { UserError } from '../model/errors';
import { promises as fs } from 'node:fs';
import { ContentHash } from './fingerprint';
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import type { AdapterFor } from './adapter';
import { spooledPoint, spoolFile } from './spooled-point';
import { clearStaging, exists, replaceWithStaging, stagingPaths } from './local-paths';

/** A directory tree as a tar stream: files, and the stand-in for object storage. */
export const directoryAdapter: AdapterFor<'directory'> = {
  kind: 'directory',

  async snapshot(store) {
    if (!(await exists(store.path))) throw new UserError(`directory ${store.path} does not exist`);
    // node-tar streams are Minipass streams: wrap to get a Node Readable with its error semantics.
    return Readable.from(tar.create({ cwd: store.path, portable: true }, ['.']), { objectMode: false });
  },

  // No native freeze: a directory is frozen by the application's pause hook, and copied aside.
  async snapshotPoint(store, ctx) {
    return spooledPoint(await this.snapshot(store, ctx), spoolFile(ctx, 'tar'), ctx);
  },

  async restore(store, data, ctx) {
    await clearStaging(store.path, ctx.stagingId);
    const { staging } = stagingPaths(store.path, ctx.stagingId);
    await fs.mkdir(staging, { recursive: true });
    await pipeline(data, tar.extract({ cwd: staging, strict: true }), { signal: ctx.signal });
    await replaceWithStaging(store.path, ctx.stagingId);
  },

  async fingerprint(store) {
    const sum = new ContentHash();
    const entries = await fs.readdir(store.path, { recursive: true, withFileTypes: true });
    const files = entries
      .filter((e) => e.isFile())
      .map((e) => path.join(e.parentPath, e.name))
      .sort();
    for (const file of files) {
      sum.add(path.relative(store.path, file), await hashFile(file));
    }
    return sum.hex();
  },

  discard: (store, ctx) => clearStaging(store.path, ctx.stagingId),
  drop: (store) => fs.rm(store.path, { recursive: true, force: true }),
  retarget: (store, target) => ({ ...store, path: path.resolve(target) }),
  describe: (store) => store.path,
};

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
