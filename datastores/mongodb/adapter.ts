import { BSON } from 'mongodb';
import type { AdapterFor } from '../adapter';
import { collectionShapes, isApplicationCollection } from './collections';
import { clientFor, describeMongo, explainConnectError, withDb } from './connect';
import { dumpStream } from './dump';
import { freezeWrites, liveFingerprint, snapshotPoint } from './freeze';
import { clearLeftovers, restoreArchive } from './restore';
import { mongodb } from './spec';

/**
 * MongoDB (and MongoDB-wire servers such as FerretDB) with the official driver: a
 * database's raw BSON documents, collection options and indexes in an archive of our own
 * (archive.ts), restored into staging collections beside the live ones and swapped in per
 * collection. Capabilities (fsyncLock, snapshot reads, renameCollection's dropTarget) are
 * found by trying, never from the version a server reports.
 */
export const mongodbAdapter: AdapterFor<'mongodb'> = {
  kind: 'mongodb',

  async snapshot(store) {
    const client = clientFor(store);
    await client.connect().catch((err: Error) => {
      throw explainConnectError(store, err);
    });
    const db = client.db(store.database);
    return dumpStream({ db, where: describeMongo(store), close: () => client.close() });
  },

  freezeWrites: (store) => freezeWrites(store),
  snapshotPoint: (store, ctx) => snapshotPoint(store, ctx),

  restore: (store, data, ctx) => withDb(store, (db) => restoreArchive(db, describeMongo(store), data, ctx)),

  fingerprint: (store) => withDb(store, (db) => liveFingerprint(db, describeMongo(store))),

  discard: (store, ctx) => withDb(store, (db) => clearLeftovers(db, ctx.stagingId)),

  holdsData: (store) =>
    withDb(store, async (db) => {
      const names = await db.listCollections({}, { nameOnly: true }).toArray();
      return names.some((c) => isApplicationCollection(String(c.name)));
    }),

  drop: (store) => withDb(store, async (db) => void (await db.dropDatabase())),

  count: (store, collection) => withDb(store, (db) => db.collection(collection).countDocuments({})),

  firstDocument: (store, { collection, filter }) =>
    withDb(store, async (db) => {
      // Extended JSON, so that a manifest can name an ObjectId or a date ({"$oid": ...}).
      const doc = await db.collection(collection).findOne(BSON.EJSON.deserialize(filter, { relaxed: true }));
      return doc ? (BSON.EJSON.serialize(doc, { relaxed: true }) as Record<string, unknown>) : undefined;
    }),

  retarget: mongodb.retarget,
  describe: describeMongo,
};

/** The store's collections (for tests and messages): the application's own, in name order. */
export const listCollections = (store: Parameters<typeof describeMongo>[0]) =>
  withDb(store, async (db) => (await collectionShapes(db, describeMongo(store))).map((s) => s.name));
