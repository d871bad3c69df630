/**
 * A store made of an SQLite index and a directory of immutable value files it references
 * (blobs): workerd's KV namespaces and R2 buckets. The snapshot is one tar of the index as
 * of one moment and exactly the blobs that index references, taken while the Worker keeps
 * writing; the restore stages both and commits with one rename of the index.
 */
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { UserError } from '../../model/errors';
import type { AdapterContext } from '../adapter';
import { exists, stagingPaths } from './local-paths';
import { commandInput, commandOutput, STABLE_TAR } from './process';
import {
  checkIntegrity,
  copyConsistently,
  putBackSetAside,
  removeSqliteFile,
  settleSqliteSwap,
  swapInSqliteFile,
  withReader,
} from './sqlite-file';

export interface BlobIndexStore {
  /** For messages: `KV namespace sessions in /srv/fn/state`. */
  what: string;
  /** The SQLite index: keys, metadata and the blob each value is in. */
  index: string;
  /** The directory of blobs, one file per value (or part). */
  blobs: string;
  /** A query for every blob the index references: one column, each blob once. */
  referencedBlobs: string;
}

/** The names inside a snapshot's tar. */
const INDEX_ENTRY = 'index.sqlite';
const BLOBS_ENTRY = 'blobs';

/**
 * How many times a snapshot retakes the index when values it references were replaced
 * (and their blobs deleted) before they could be linked: each try's window is the time
 * between listing the blobs and opening the index, a few milliseconds.
 */
const SNAPSHOT_TRIES = 20;

/**
 * The index and its blobs as one tar stream, consistent as of the moment the index was
 * read. A blob is deleted soon after the value it holds is replaced, so every blob there
 * is is hard-linked (kept) before the index is read: each blob the index then references
 * existed before that read, and was linked unless it appeared in the moment between.
 * Those are linked after; one gone by then means the index moved on, and it is read again.
 */
export async function snapshotBlobIndex(store: BlobIndexStore, ctx: AdapterContext): Promise<Readable> {
  if (!(await exists(store.index)))
    throw new UserError(
      `${store.what} has no index file ${store.index}: check that path is the Worker's state directory and the id is the binding's (workerd creates the file on first use)`,
    );
  // Beside the blobs, on their filesystem, so that links work.
  const spool = `${store.blobs}.lazarus-snapshot-${ctx.stagingId}`;
  await fs.rm(spool, { recursive: true, force: true });
  await fs.mkdir(path.join(spool, BLOBS_ENTRY), { recursive: true });
  try {
    await spoolConsistently(store, spool);
    const list = path.join(spool, 'entries');
    await writeEntryList(store, spool, list);
    const tar = commandOutput({
      cmd: 'tar',
      args: [...STABLE_TAR, '--create', '-C', spool, '--verbatim-files-from', '--files-from', list],
      signal: ctx.signal,
    });
    tar.on('close', () => void fs.rm(spool, { recursive: true, force: true }));
    return tar;
  } catch (err) {
    await fs.rm(spool, { recursive: true, force: true });
    throw err;
  }
}

async function spoolConsistently(store: BlobIndexStore, spool: string): Promise<void> {
  const index = path.join(spool, INDEX_ENTRY);
  for (let attempt = 1; ; attempt++) {
    await linkEveryBlob(store.blobs, path.join(spool, BLOBS_ENTRY));
    await copyConsistently(store.index, index);
    const gone = await linkReferenced(store, index, spool);
    if (gone === 0) return;
    if (attempt === SNAPSHOT_TRIES)
      throw new Error(
        `${store.what} changed faster than it could be copied: ${gone} values were replaced while their files were linked, ${SNAPSHOT_TRIES} times over; retry, or quiesce the Worker for the backup`,
      );
  }
}

/** Hard-links every blob not linked yet into `into` (copies it across filesystems). */
async function linkEveryBlob(blobs: string, into: string): Promise<void> {
  const dir = await fs.opendir(blobs).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined; // no value written yet
    throw err;
  });
  if (!dir) return;
  for await (const entry of dir) {
    if (entry.isFile()) await keep(path.join(blobs, entry.name), path.join(into, entry.name));
  }
}

/** Links one blob; false when it is gone (deleted after its value was replaced). */
async function keep(blob: string, link: string): Promise<boolean> {
  try {
    await fs.link(blob, link);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return true;
    if (code === 'ENOENT') return false;
    if (code === 'EXDEV' || code === 'EPERM') {
      return fs.copyFile(blob, link).then(
        () => true,
        (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? false : Promise.reject(e)),
      );
    }
    throw err;
  }
}

/** Links what the copied index references and is not linked yet; the number already gone. */
async function linkReferenced(store: BlobIndexStore, index: string, spool: string): Promise<number> {
  return withReader(index, async (db) => {
    let gone = 0;
    for (const id of db.prepare(store.referencedBlobs).pluck().iterate() as Iterable<string>) {
      const kept = await keep(path.join(store.blobs, id), path.join(spool, BLOBS_ENTRY, id));
      if (!kept) gone++;
    }
    return gone;
  });
}

/** The tar's entries: the index, then the blobs it references (not every blob linked). */
async function writeEntryList(store: BlobIndexStore, spool: string, list: string): Promise<void> {
  const out = createWriteStream(list);
  const write = (line: string) =>
    new Promise<void>((resolve, reject) => out.write(`${line}\n`, (err) => (err ? reject(err) : resolve())));
  try {
    await write(INDEX_ENTRY);
    await withReader(path.join(spool, INDEX_ENTRY), async (db) => {
      for (const id of db.prepare(store.referencedBlobs).pluck().iterate() as Iterable<string>)
        await write(`${BLOBS_ENTRY}/${id}`);
    });
  } finally {
    await new Promise<void>((resolve) => out.end(resolve));
  }
}

/**
 * The places a restore uses: the tar is unpacked beside the blobs directory; its index is
 * then moved beside the live index as the swap's staging file.
 */
function restorePlaces(store: BlobIndexStore, stagingId: string) {
  return {
    unpacked: stagingPaths(store.blobs, stagingId).staging,
    stagedIndex: stagingPaths(store.index, stagingId).staging,
    setAsideIndex: stagingPaths(store.index, stagingId).setAside,
  };
}

/**
 * Replaces the store with a snapshot. The caller has quiesced the host (stopped workerd):
 * workerd keeps the index open and would go on with the file it opened.
 * Unpacked and checked aside first; the new blobs then join the old ones (their names are
 * unique, so none is overwritten by a different value), and one rename of the index makes
 * the new data current: before it the old index with all its blobs is intact, after it the
 * old blobs are unreferenced and removed. A crash anywhere is settled by the next attempt
 * or by discard, and never leaves an index with a missing blob.
 */
export async function restoreBlobIndex(
  store: BlobIndexStore,
  data: Readable,
  ctx: AdapterContext,
): Promise<void> {
  await settleBlobIndex(store, ctx.stagingId);
  const { unpacked, stagedIndex } = restorePlaces(store, ctx.stagingId);
  await fs.mkdir(unpacked, { recursive: true });
  // --ignore-zeros: tar reads its input to the end instead of leaving at the end-of-archive
  // blocks, which would cut the snapshot stream off under its writer (a premature close).
  const extract = [...STABLE_TAR, '--extract', '--ignore-zeros', '-C', unpacked];
  await commandInput({ cmd: 'tar', args: extract, signal: ctx.signal }, data);
  const index = path.join(unpacked, INDEX_ENTRY);
  if (!(await exists(index))) throw new Error(`the snapshot for ${store.what} holds no index`);
  await checkIntegrity(index, `the restored index of ${store.what}`);
  await checkBlobsPresent(store, index, path.join(unpacked, BLOBS_ENTRY));
  await fs.mkdir(path.dirname(store.index), { recursive: true });
  await fs.rename(index, stagedIndex);
  await moveBlobs(path.join(unpacked, BLOBS_ENTRY), store.blobs);
  await swapInSqliteFile(store.index, ctx.stagingId);
  await settleBlobIndex(store, ctx.stagingId); // removes the old blobs, then the set-aside index
}

async function checkBlobsPresent(store: BlobIndexStore, index: string, blobs: string): Promise<void> {
  await withReader(index, async (db) => {
    for (const id of db.prepare(store.referencedBlobs).pluck().iterate() as Iterable<string>) {
      if (!(await exists(path.join(blobs, id))))
        throw new Error(`the snapshot for ${store.what} lacks the value file ${id} its index references`);
    }
  });
}

async function moveBlobs(from: string, to: string): Promise<void> {
  await fs.mkdir(to, { recursive: true });
  const dir = await fs.opendir(from).catch(() => undefined);
  if (!dir) return;
  for await (const entry of dir) await fs.rename(path.join(from, entry.name), path.join(to, entry.name));
}

/** Deletes the blobs the live index does not reference: replaced values, or those of an undone restore. */
async function removeUnreferencedBlobs(store: BlobIndexStore): Promise<void> {
  const dir = await fs.opendir(store.blobs).catch(() => undefined);
  if (!dir) return;
  if (!(await exists(store.index))) {
    for await (const entry of dir) await fs.rm(path.join(store.blobs, entry.name), { force: true });
    return;
  }
  await withReader(store.index, async (db) => {
    // The referenced names in a temporary table (SQLite keeps it on disk when it grows), so
    // that each blob is looked up by key rather than by a scan of the index.
    db.exec('CREATE TEMP TABLE refs (id TEXT PRIMARY KEY) WITHOUT ROWID');
    db.exec(`INSERT OR IGNORE INTO temp.refs ${store.referencedBlobs}`);
    const referenced = db.prepare('SELECT 1 FROM temp.refs WHERE id = ?');
    for await (const entry of dir) {
      if (!referenced.get(entry.name)) await fs.rm(path.join(store.blobs, entry.name), { force: true });
    }
  });
}

/**
 * Settles what an earlier attempt of this restore left: an index set aside and not
 * replaced is put back, and the blobs it does not reference (the new ones moved in) are
 * removed; a swap that was done loses its set-aside and the old blobs. The unpacked
 * tar is removed. The target's data is never changed.
 */
export async function settleBlobIndex(store: BlobIndexStore, stagingId: string): Promise<void> {
  const { unpacked, stagedIndex, setAsideIndex } = restorePlaces(store, stagingId);
  // Blobs are moved in only once the staged index is in place, and it is gone only once
  // swapped in; the set-aside index then remains until the old blobs are removed.
  const blobsMoved = (await exists(stagedIndex)) || (await exists(setAsideIndex));
  await putBackSetAside(store.index, stagingId);
  if (blobsMoved) await removeUnreferencedBlobs(store); // by the index now current, old or new
  await settleSqliteSwap(store.index, stagingId);
  await fs.rm(unpacked, { recursive: true, force: true });
}

/** Removes the index, its journals and the blobs. */
export async function dropBlobIndex(store: BlobIndexStore): Promise<void> {
  await removeSqliteFile(store.index);
  await fs.rm(store.blobs, { recursive: true, force: true });
}

/** Does the index hold a row the query finds? False without an index. */
export async function indexHolds(store: BlobIndexStore, sql: string): Promise<boolean> {
  if (!(await exists(store.index))) return false;
  return withReader(store.index, (db) => db.prepare(sql).get() !== undefined);
}

/** The SHA-256 of a blob, or of parts read one after the other, streamed. */
export async function hashBlobs(store: BlobIndexStore, ids: string[], owner: string): Promise<string> {
  const hash = createHash('sha256');
  for (const id of ids) {
    const file = path.join(store.blobs, id);
    if (!(await exists(file)))
      throw new Error(`${store.what}: the value of ${owner} is missing its file ${file}`);
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}
