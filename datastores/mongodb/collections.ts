/**
 * The collections of a database as Lazarus sees them: the application's own, without the
 * server's (system.*) and without the staging and set-aside copies a restore makes.
 */
import type { ClientSession, Db, Document } from 'mongodb';
import { UserError } from '../../model/errors';
import { type CollectionShape, DocumentDigest, collectionFingerprint } from './fingerprint';

/** Prefixes of a restore's own collections: staging copies, and live ones set aside during a swap. */
export const STAGING = 'lzstg_';
export const SET_ASIDE = 'lzold_';

const ours = (name: string) => name.startsWith(STAGING) || name.startsWith(SET_ASIDE);

export function isApplicationCollection(name: string): boolean {
  return !name.startsWith('system.') && !ours(name);
}

/**
 * Each application collection's name, type, options and indexes; views after collections.
 * Outside any snapshot session: a snapshot read allows find, not listCollections.
 */
export async function collectionShapes(db: Db, where: string): Promise<CollectionShape[]> {
  const listed = (await db.listCollections().toArray()) as Document[];
  const shapes: CollectionShape[] = [];
  for (const info of listed.filter((c) => isApplicationCollection(String(c.name)))) {
    const {
      name,
      type = 'collection',
      options = {},
    } = info as { name: string; type?: string; options?: Document };
    if (type === 'timeseries')
      throw new UserError(
        `${where}: collection ${name} is a time-series collection, which Lazarus cannot back up yet; ` +
          'back it up with mongodump, or leave it out of this store',
      );
    const indexes = type === 'collection' ? await db.collection(name).listIndexes().toArray() : [];
    shapes.push({ name, type, options, indexes });
  }
  return shapes.sort(
    (a, b) => Number(a.type === 'view') - Number(b.type === 'view') || a.name.localeCompare(b.name),
  );
}

/** The shape of one collection (a staging copy), or undefined when it is not there. */
export async function collectionShape(db: Db, name: string): Promise<CollectionShape | undefined> {
  const [info] = (await db.listCollections({ name }).toArray()) as Document[];
  if (!info) return undefined;
  const type = String(info.type ?? 'collection');
  const indexes = type === 'collection' ? await db.collection(name).listIndexes().toArray() : [];
  return { name, type, options: (info.options ?? {}) as Document, indexes };
}

/** The raw BSON documents of a collection, as the server sends them (never deserialised). */
export function rawDocuments(db: Db, name: string, session?: ClientSession): AsyncIterable<Buffer> {
  return db
    .collection(name)
    .find({}, { raw: true, batchSize: 1000, session }) as unknown as AsyncIterable<Buffer>;
}

/** A collection's fingerprint; `as` is the name it is hashed under (a staging copy's live name). */
export async function fingerprintCollection(
  db: Db,
  shape: CollectionShape,
  as = shape.name,
): Promise<string> {
  const digest = new DocumentDigest();
  if (shape.type === 'collection') for await (const raw of rawDocuments(db, shape.name)) digest.add(raw);
  return collectionFingerprint({ ...shape, name: as }, digest);
}
