/**
 * SQLite files that another process keeps open and writes (workerd's D1 databases and its
 * KV and R2 indexes): a consistent copy taken from outside, and a replacement that never
 * leaves a half-written file or a stale journal in the target's place.
 */
import { promises as fs } from 'node:fs';
import Database from 'better-sqlite3';
import { SQLITE_JOURNALS } from './miniflare-state';
import { exists, stagingPaths } from './local-paths';

/** Opens `file` read-only for `read`, and closes it whatever happens. */
export async function withReader<T>(
  file: string,
  read: (db: Database.Database) => T | Promise<T>,
): Promise<T> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return await read(db);
  } finally {
    db.close();
  }
}

/**
 * A copy of the database as of one moment, taken while its owner keeps writing: VACUUM
 * INTO reads in one read transaction, which in WAL mode never blocks the writer and is
 * never restarted by it (the backup API restarts whenever another process writes).
 */
export async function copyConsistently(source: string, copy: string): Promise<void> {
  await fs.rm(copy, { force: true }); // VACUUM INTO refuses a file that exists
  await withReader(source, (db) => db.prepare('VACUUM INTO ?').run(copy));
}

export async function checkIntegrity(file: string, what: string): Promise<void> {
  await withReader(file, (db) => {
    const result = db.pragma('integrity_check', { simple: true });
    if (result !== 'ok') throw new Error(`${what} fails its integrity check: ${String(result)}`);
  });
}

async function renameIfThere(from: string, to: string): Promise<void> {
  await fs.rename(from, to).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/**
 * Puts the fully written staging file (stagingPaths(target).staging) in the target's
 * place. The target and its journals are set aside first (a WAL the owner never
 * checkpointed holds data the main file lacks), so `settleSqliteSwap` after a crash
 * puts them back together; the rename of the staging file is the moment the swap is
 * done. The set-aside stays until `settleSqliteSwap` removes it.
 */
export async function swapInSqliteFile(target: string, stagingId: string): Promise<void> {
  const { staging, setAside } = stagingPaths(target, stagingId);
  const hadTarget = await exists(target);
  if (hadTarget) await fs.rename(target, setAside);
  for (const journal of SQLITE_JOURNALS) {
    // Without a main file a journal belongs to nothing, and would be replayed into the new one.
    if (hadTarget) await renameIfThere(target + journal, setAside + journal);
    else await fs.rm(target + journal, { force: true });
  }
  await fs.rename(staging, target);
}

/** After a crash in a swap: a target set aside and not yet replaced is put back, with its journals. */
export async function putBackSetAside(target: string, stagingId: string): Promise<void> {
  const { setAside } = stagingPaths(target, stagingId);
  if ((await exists(target)) || !(await exists(setAside))) return;
  await fs.rename(setAside, target);
  for (const journal of SQLITE_JOURNALS) await renameIfThere(setAside + journal, target + journal);
}

/**
 * After a swap, or a crash in one: a target set aside and not yet replaced is put back
 * with its journals; otherwise the set-aside and the staging file are removed.
 */
export async function settleSqliteSwap(target: string, stagingId: string): Promise<void> {
  const { staging, setAside } = stagingPaths(target, stagingId);
  await putBackSetAside(target, stagingId);
  for (const journal of SQLITE_JOURNALS) await fs.rm(setAside + journal, { force: true });
  await fs.rm(setAside, { force: true });
  await fs.rm(staging, { force: true });
}

/** Removes a database with its journals. */
export async function removeSqliteFile(file: string): Promise<void> {
  await Promise.all(['', ...SQLITE_JOURNALS].map((suffix) => fs.rm(file + suffix, { force: true })));
}
