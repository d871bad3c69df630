import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../../model/errors';
import type { AdapterFor } from '../adapter';
import { ContentHash, sqlCell } from '../shared/fingerprint';
import { exists, stagingPaths } from '../shared/local-paths';
import { sqliteFileOf } from '../shared/miniflare-state';
import {
  checkIntegrity,
  copyConsistently,
  removeSqliteFile,
  settleSqliteSwap,
  swapInSqliteFile,
  withReader,
} from '../shared/sqlite-file';
import { filePoint, spoolFile } from '../shared/spooled-point';
import { quoteIdentifier } from '../shared/staged-database';
import { d1 } from './spec';

type D1Store = Parameters<AdapterFor<'d1'>['snapshot']>[0];

const fileOf = (store: D1Store) => sqliteFileOf('d1', store.path, store.database_id);
const describeD1 = (store: D1Store) => `D1 database ${store.database_id} in ${store.path}`;

/** The user's tables, views, indexes and triggers: not SQLite's, nor workerd's own `_cf_` tables. */
const USER_SCHEMA = "name NOT GLOB 'sqlite_*' AND name NOT GLOB '_cf_*'";

/**
 * A D1 database of a self-hosted workerd: the SQLite file workerd keeps it in, copied with
 * VACUUM INTO while the Worker keeps writing (workerd takes SQLite's own locks, so a
 * reader outside it sees one committed state).
 */
export const d1Adapter: AdapterFor<'d1'> = {
  kind: 'd1',

  async snapshot(store, ctx) {
    const copy = path.join(os.tmpdir(), `lazarus-d1-${ctx.stagingId}-${process.pid}-${Date.now()}.sqlite`);
    await copyConsistently(await existingFile(store), copy);
    const stream: Readable = createReadStream(copy);
    stream.on('close', () => void fs.rm(copy, { force: true }));
    return stream;
  },

  // No freeze of its own: VACUUM INTO reads one moment; the copy is spooled during the group's freeze.
  async snapshotPoint(store, ctx) {
    const file = spoolFile(ctx, 'd1.sqlite');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await copyConsistently(await existingFile(store), file);
    return filePoint(file);
  },

  /**
   * The caller has quiesced the host (stopped workerd): workerd keeps the file open and
   * would go on writing the one it opened. Written and checked beside the file, then
   * swapped in with its stale journals set aside (settled by the next attempt or discard).
   */
  async restore(store, data, ctx) {
    const file = fileOf(store);
    await settleSqliteSwap(file, ctx.stagingId);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const { staging } = stagingPaths(file, ctx.stagingId);
    await pipeline(data, createWriteStream(staging, { flush: true }), { signal: ctx.signal });
    await checkIntegrity(staging, `the restored ${describeD1(store)}`);
    await swapInSqliteFile(file, ctx.stagingId);
    await settleSqliteSwap(file, ctx.stagingId);
  },

  async fingerprint(store) {
    return withReader(fileOf(store), (db) => {
      const sum = new ContentHash();
      const objects = db
        .prepare(`SELECT type, name, sql FROM sqlite_schema WHERE ${USER_SCHEMA} ORDER BY type, name`)
        .all() as { type: string; name: string; sql: string | null }[];
      for (const object of objects) {
        sum.add(object.type, object.name, object.sql);
        if (object.type !== 'table') continue;
        const columns = db.prepare(`SELECT * FROM ${quote(object.name)} LIMIT 0`).columns().length;
        const order = Array.from({ length: columns }, (_, i) => i + 1).join(', ');
        const rows = db
          .prepare(`SELECT * FROM ${quote(object.name)} ORDER BY ${order}`)
          .raw()
          .iterate();
        for (const row of rows as Iterable<unknown[]>) sum.add(...row.map(sqlCell));
      }
      return sum.hex();
    });
  },

  async holdsData(store) {
    const file = fileOf(store);
    if (!(await exists(file))) return false;
    return withReader(file, (db) =>
      Boolean(db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND ${USER_SCHEMA}`).get()),
    );
  },
  drop: (store) => removeSqliteFile(fileOf(store)),
  count: (store, table) =>
    withReader(fileOf(store), (db) =>
      Number(
        db
          .prepare(`SELECT COUNT(*) FROM ${quote(table)}`)
          .pluck()
          .get(),
      ),
    ),
  firstRow: (store, sql) =>
    withReader(fileOf(store), (db) => db.prepare(sql).raw().get() as unknown[] | undefined),

  discard: (store, ctx) => settleSqliteSwap(fileOf(store), ctx.stagingId),
  // The worker resolves a relative target against its own directory (the CLI sends absolute ones).
  retarget: (store, target) => d1.retarget(store, path.resolve(target)),
  describe: describeD1,
};

async function existingFile(store: D1Store): Promise<string> {
  const file = fileOf(store);
  if (!(await exists(file)))
    throw new UserError(
      `${describeD1(store)} has no file ${file}: check that path is the Worker's state directory and database_id the binding's (workerd creates the file on first use)`,
    );
  return file;
}

const quote = (name: string) => quoteIdentifier(name, '"');
