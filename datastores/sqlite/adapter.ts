import { UserError } from '../../model/errors';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { ContentHash, sqlCell } from '../shared/fingerprint';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import type { AdapterFor } from '../adapter';
import { sqlite } from './spec';
import { filePoint, spoolFile } from '../shared/spooled-point';
import { quoteIdentifier } from '../shared/staged-database';
import { checkIntegrity, withReader } from '../shared/sqlite-file';
import { clearStaging, exists, pathHoldsData, replaceWithStaging, stagingPaths } from '../shared/local-paths';

/** SQLite through its online backup API: a consistent copy while the application keeps writing. */
export const sqliteAdapter: AdapterFor<'sqlite'> = {
  kind: 'sqlite',

  async snapshot(store, ctx) {
    if (!(await exists(store.path))) throw new UserError(`SQLite database ${store.path} does not exist`);
    const copy = path.join(os.tmpdir(), `lazarus-sqlite-${ctx.stagingId}-${process.pid}-${Date.now()}.db`);
    await backupTo(store.path, copy);
    const stream: Readable = createReadStream(copy);
    stream.on('close', () => void fs.rm(copy, { force: true }));
    return stream;
  },

  /**
   * A write transaction holds other writers off until released. SQLite waits for a lock
   * synchronously, which would stall the worker: try without waiting, and retry.
   */
  async freezeWrites(store, ctx) {
    const db = new Database(store.path, { fileMustExist: true, timeout: 0 });
    try {
      for (;;) {
        try {
          db.exec('BEGIN IMMEDIATE');
          break;
        } catch (err) {
          const busy = (err as { code?: string }).code === 'SQLITE_BUSY';
          if (!busy || Date.now() > ctx.deadline || ctx.signal.aborted) throw err;
          await sleep(10);
        }
      }
    } catch (err) {
      db.close();
      throw err;
    }
    return {
      release: async () => {
        if (db.inTransaction) db.exec('ROLLBACK');
        db.close();
      },
    };
  },

  /** The copy is taken during the freeze, through a second connection, with the backup API. */
  async snapshotPoint(store, ctx) {
    const file = spoolFile(ctx, 'sqlite.db');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await backupTo(store.path, file);
    return filePoint(file);
  },

  async restore(store, data, ctx) {
    await clearStaging(store.path, ctx.stagingId);
    const { staging } = stagingPaths(store.path, ctx.stagingId);
    await fs.mkdir(path.dirname(store.path), { recursive: true });
    await pipeline(data, createWriteStream(staging, { flush: true }), { signal: ctx.signal });
    await checkIntegrity(staging, 'restored SQLite database');
    // Stale journal files of the old database would be replayed into the new one.
    await Promise.all(['-wal', '-shm', '-journal'].map((s) => fs.rm(store.path + s, { force: true })));
    await replaceWithStaging(store.path, ctx.stagingId);
  },

  async fingerprint(store) {
    const db = new Database(store.path, { readonly: true, fileMustExist: true });
    try {
      const sum = new ContentHash();
      const tables = db
        .prepare(
          "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .all() as { name: string; sql: string }[];
      for (const table of tables) {
        sum.add('table', table.name, table.sql);
        const rows = db
          .prepare(`SELECT * FROM ${quote(table.name)} ORDER BY 1, 2`)
          .raw()
          .iterate();
        for (const row of rows as Iterable<unknown[]>) sum.add(...row.map(sqlCell));
      }
      return sum.hex();
    } finally {
      db.close();
    }
  },

  holdsData: (store) => pathHoldsData(store.path),
  async drop(store) {
    await Promise.all(['', '-wal', '-shm', '-journal'].map((s) => fs.rm(store.path + s, { force: true })));
  },
  count: (store, table) =>
    withReader(store.path, (db) =>
      Number(
        db
          .prepare(`SELECT COUNT(*) FROM ${quote(table)}`)
          .pluck()
          .get(),
      ),
    ),
  firstRow: (store, sql) =>
    withReader(store.path, (db) => db.prepare(sql).raw().get() as unknown[] | undefined),

  discard: (store, ctx) => clearStaging(store.path, ctx.stagingId),
  // The worker resolves a relative target against its own directory (the CLI sends absolute ones).
  retarget: (store, target) => sqlite.retarget(store, path.resolve(target)),
  describe: (store) => store.path,
};

const quote = (name: string) => quoteIdentifier(name, '"');

async function backupTo(source: string, copy: string): Promise<void> {
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    await db.backup(copy);
  } finally {
    db.close();
  }
}
