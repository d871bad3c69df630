/**
 * A restore into staging collections beside the live ones (same database: a rename across
 * databases is a copy on mongod and refused on FerretDB), each checked against the
 * archive's fingerprint, then swapped in per collection.
 */
import type { Readable } from 'node:stream';
import type { Db, Document } from 'mongodb';
import { UserError } from '../../model/errors';
import type { AdapterContext } from '../adapter';
import { FORMAT, type Frame, Tag, parse, readFrames } from './archive';
import {
  SET_ASIDE,
  STAGING,
  collectionShape,
  fingerprintCollection,
  isApplicationCollection,
} from './collections';
import { type CollectionShape, DocumentDigest, collectionFingerprint, normalIndexes } from './fingerprint';
import { unsupported } from './connect';

const BATCH = 500;
/** MongoDB's limit on a namespace (database.collection), in bytes. */
const MAX_NAMESPACE = 255;

export const stagingName = (stagingId: string, name: string) => `${STAGING}${stagingId}_${name}`;
const setAsideName = (stagingId: string, name: string) => `${SET_ASIDE}${stagingId}_${name}`;

/** Why a collection cannot be staged under its prefixed name, before anything is written. */
export function unstageable(database: string, stagingId: string, name: string): string | undefined {
  if (name.startsWith('system.')) return `${name} is a system collection`;
  if (name.includes('$')) return `${name} holds a $`;
  const namespace = `${database}.${stagingName(stagingId, name)}`;
  if (Buffer.byteLength(namespace) > MAX_NAMESPACE)
    return `${name} is too long to stage (${namespace} is over ${MAX_NAMESPACE} bytes)`;
  return undefined;
}

export async function restoreArchive(
  db: Db,
  where: string,
  data: Readable,
  ctx: AdapterContext,
): Promise<void> {
  const frames = readFrames(data, where);
  const names = await readHeader(frames, where);
  const problems = names.map((n) => unstageable(db.databaseName, ctx.stagingId, n)).filter(Boolean);
  if (problems.length > 0)
    throw new UserError(
      `${where}: cannot restore: ${problems.join('; ')}. Rename the collection (shorter, no $) ` +
        'or use a shorter database name; nothing was written',
    );
  await clearLeftovers(db, ctx.stagingId);
  const shapes = await stageCollections(db, where, frames, ctx);
  await swapIn(db, shapes, ctx.stagingId);
}

async function readHeader(frames: AsyncGenerator<Frame>, where: string): Promise<string[]> {
  const { value } = await frames.next();
  const header = value && value.tag === Tag.header ? parse(value.body) : undefined;
  if (header?.format !== FORMAT) throw new Error(`${where}: the snapshot is not a ${FORMAT} archive`);
  return header.collections as string[];
}

/** Fills a staging copy of each archived collection, checking each against the archive. */
async function stageCollections(
  db: Db,
  where: string,
  frames: AsyncGenerator<Frame>,
  ctx: AdapterContext,
): Promise<CollectionShape[]> {
  const shapes: CollectionShape[] = [];
  let shape: CollectionShape | undefined;
  let digest = new DocumentDigest();
  let batch: Document[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    ctx.signal.throwIfAborted();
    await db
      .collection(stagingName(ctx.stagingId, shape!.name))
      .insertMany(batch, { bypassDocumentValidation: true });
    batch = [];
  };
  for await (const { tag, body } of frames) {
    if (tag === Tag.collection) {
      shape = parse(body) as CollectionShape;
      digest = new DocumentDigest();
      // A view holds no documents and cannot be renamed: it is created at the swap.
      if (shape.type === 'collection')
        await db.createCollection(stagingName(ctx.stagingId, shape.name), shape.options);
    } else if (tag === Tag.document) {
      digest.add(body);
      batch.push(parse(body));
      if (batch.length === BATCH) await flush();
    } else if (tag === Tag.end) {
      await flush();
      await finishStaging(db, where, shape!, digest, parse(body), ctx.stagingId);
      shapes.push(shape!);
    }
  }
  return shapes;
}

/** Indexes after the data (as mongorestore does), then the staging copy checked against the archive. */
async function finishStaging(
  db: Db,
  where: string,
  shape: CollectionShape,
  digest: DocumentDigest,
  end: Document,
  stagingId: string,
): Promise<void> {
  if (Number(end.count) !== digest.count || end.digest !== digest.hex())
    throw new Error(
      `${where}: the archive is damaged (collection ${shape.name} does not match its own count)`,
    );
  if (shape.type !== 'collection') return;
  const staging = stagingName(stagingId, shape.name);
  const indexes = normalIndexes(shape.indexes);
  if (indexes.length > 0) await db.command({ createIndexes: staging, indexes: indexes as Document[] });
  const staged = await collectionShape(db, staging);
  const expected = collectionFingerprint(shape, digest);
  if (!staged || (await fingerprintCollection(db, staged, shape.name)) !== expected)
    throw new Error(
      `${where}: the staging copy of ${shape.name} differs from the snapshot after loading ` +
        '(the server changed a value, an option or an index); the live collection was not touched',
    );
}

/**
 * Each staging copy put in the live one's place: renameCollection with dropTarget where the
 * server has it (atomic per collection); else live -> set-aside, staging -> live, set-aside
 * dropped, a gap in which an application write would create the collection anew, so the
 * restore runs with the application paused. Then the collections the snapshot lacks go.
 */
async function swapIn(db: Db, shapes: CollectionShape[], stagingId: string): Promise<void> {
  const live = new Set(await applicationCollections(db));
  let dropTarget: boolean | undefined;
  for (const shape of shapes) {
    if (shape.type !== 'collection') {
      if (live.has(shape.name)) await db.dropCollection(shape.name);
      await db.createCollection(shape.name, shape.options);
      continue;
    }
    const staging = db.collection(stagingName(stagingId, shape.name));
    if (!live.has(shape.name)) await staging.rename(shape.name);
    else if (dropTarget !== false) {
      // Found by trying, never from the version: FerretDB says 7.0 and refuses dropTarget.
      dropTarget = await staging.rename(shape.name, { dropTarget: true }).then(
        () => true,
        (err: unknown) => {
          if (dropTarget || !unsupported(err)) throw err;
          return false;
        },
      );
    }
    if (live.has(shape.name) && dropTarget === false) await swapBySetAside(db, shape.name, stagingId);
  }
  const kept = new Set(shapes.map((s) => s.name));
  for (const name of live) if (!kept.has(name)) await db.dropCollection(name);
}

async function swapBySetAside(db: Db, name: string, stagingId: string): Promise<void> {
  const setAside = setAsideName(stagingId, name);
  await db.collection(name).rename(setAside);
  await db.collection(stagingName(stagingId, name)).rename(name);
  await db.dropCollection(setAside);
}

async function applicationCollections(db: Db): Promise<string[]> {
  return (await db.listCollections({}, { nameOnly: true }).toArray())
    .map((c) => String(c.name))
    .filter(isApplicationCollection);
}

/**
 * Removes what an earlier attempt of this run left: staging copies are dropped, and a live
 * collection set aside by a swap cut short is put back when its place is empty.
 */
export async function clearLeftovers(db: Db, stagingId: string): Promise<void> {
  const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => String(c.name));
  const present = new Set(names);
  for (const name of names) {
    if (name.startsWith(setAsideName(stagingId, ''))) {
      const original = name.slice(setAsideName(stagingId, '').length);
      if (!present.has(original)) await db.collection(name).rename(original);
      else await db.dropCollection(name);
    } else if (name.startsWith(stagingName(stagingId, ''))) await db.dropCollection(name);
  }
}
