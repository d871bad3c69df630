import { UserError } from '../../model/errors';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { ContentHash } from '../shared/fingerprint';
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
    checkIntegrity(staging);
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
        for (const row of rows as Iterable<unknown[]>) sum.add(...row.map(cell));
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

async function withReader<T>(file: string, read: (db: Database.Database) => T): Promise<T> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

const quote = (name: string) => quoteIdentifier(name, '"');

async function backupTo(source: string, copy: string): Promise<void> {
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    await db.backup(copy);
  } finally {
    db.close();
  }
}

function checkIntegrity(file: string): void {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const result = db.pragma('integrity_check', { simple: true });
    if (result !== 'ok')
      throw new Error(`restored SQLite database fails its integrity check: ${String(result)}`);
  } finally {
    db.close();
  }
}

function cell(value: unknown): string | Buffer | number | null {
  if (value === null || Buffer.isBuffer(value) || typeof value === 'number') return value;
  return String(value);
}
