import { UserError } from '../../model/errors';
import { promises as fs } from 'node:fs';
import { ContentHash } from '../shared/fingerprint';
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { AdapterFor } from '../adapter';
import { directory } from './spec';
import { STABLE_TAR as ARCHIVE, commandInput, commandOutput } from '../shared/process';
import { spooledPoint, spoolFile } from '../shared/spooled-point';
import { clearStaging, exists, pathHoldsData, replaceWithStaging, stagingPaths } from '../shared/local-paths';

/** A directory tree as a tar stream: files, and the stand-in for object storage. */
export const directoryAdapter: AdapterFor<'directory'> = {
  kind: 'directory',

  async snapshot(store, ctx) {
    if (!(await exists(store.path))) throw new UserError(`directory ${store.path} does not exist`);
    return commandOutput({
      cmd: 'tar',
      args: [...ARCHIVE, '--create', '-C', store.path, '.'],
      signal: ctx.signal,
      alsoOk: [1],
    });
  },

  // No native freeze: a directory is frozen by the application's pause hook, and copied aside.
  async snapshotPoint(store, ctx) {
    return spooledPoint(await this.snapshot(store, ctx), spoolFile(ctx, 'tar'), ctx);
  },

  async restore(store, data, ctx) {
    await clearStaging(store.path, ctx.stagingId);
    const { staging } = stagingPaths(store.path, ctx.stagingId);
    await fs.mkdir(staging, { recursive: true });
    await commandInput(
      { cmd: 'tar', args: [...ARCHIVE, '--extract', '-C', staging], signal: ctx.signal },
      data,
    );
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

  holdsData: (store) => pathHoldsData(store.path),
  discard: (store, ctx) => clearStaging(store.path, ctx.stagingId),
  drop: (store) => fs.rm(store.path, { recursive: true, force: true }),
  // The worker resolves a relative target against its own directory (the CLI sends absolute ones).
  retarget: (store, target) => directory.retarget(store, path.resolve(target)),
  describe: (store) => store.path,
};

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
