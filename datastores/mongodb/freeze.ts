/**
 * Writes held still for a consistency group, and the moment a group snapshot is of.
 * fsyncLock blocks writes server-wide where the server has it (real mongod); where it
 * does not (FerretDB: CommandNotFound) the application's pause hook is the freeze. A lock
 * does not lapse by itself, so release always unlocks, and a lock found when a freeze
 * starts (a dead worker's) is released first.
 */
import { type Db, type MongoClient, MongoServerError } from 'mongodb';
import type { FreezeContext, SnapshotPoint, WriteFreeze } from '../adapter';
import { filePoint, spoolFile, spooledPoint } from '../shared/spooled-point';
import { collectionShapes, fingerprintCollection } from './collections';
import { type MongoStore, clientFor, describeMongo, explainConnectError, unsupported } from './connect';
import { dumpStream } from './dump';
import { databaseFingerprint } from './fingerprint';

/** At most this many nested locks are undone: mongod counts each fsyncLock. */
const MAX_UNLOCKS = 100;

export async function freezeWrites(store: MongoStore): Promise<WriteFreeze> {
  const client = clientFor(store);
  await client.connect().catch((err: Error) => {
    throw explainConnectError(store, err);
  });
  const admin = client.db('admin');
  try {
    await releaseStaleLock(admin);
    await admin.command({ fsync: 1, lock: true });
  } catch (err) {
    await client.close();
    if (unsupported(err)) return { release: async () => {} }; // the application's pause hook holds writes
    throw err;
  }
  return {
    async release() {
      try {
        await unlock(admin);
      } finally {
        await client.close();
      }
    },
  };
}

/** Whether the server reports an fsync lock (currentOp's fsyncLock); false where it has no such thing. */
export async function fsyncLocked(admin: Db): Promise<boolean> {
  const op = await admin.command({ currentOp: 1, $all: false }).catch(() => ({}) as { fsyncLock?: boolean });
  return op.fsyncLock === true;
}

/** A lock held when a freeze starts is a dead worker's: Lazarus freezes a store once at a time. */
async function releaseStaleLock(admin: Db): Promise<void> {
  if (await fsyncLocked(admin)) await unlock(admin);
}

async function unlock(admin: Db): Promise<void> {
  for (let i = 0; i < MAX_UNLOCKS; i++) {
    const result = await admin.command({ fsyncUnlock: 1 }).catch((err: unknown) => {
      // "not locked": nothing (left) to undo.
      if (err instanceof MongoServerError) return { lockCount: 0 };
      throw err;
    });
    if (Number(result.lockCount ?? 0) === 0) return;
  }
}

export async function liveFingerprint(db: Db, where: string): Promise<string> {
  const collections = new Map<string, string>();
  for (const shape of await collectionShapes(db, where))
    collections.set(shape.name, await fingerprintCollection(db, shape));
  return databaseFingerprint(collections);
}

/**
 * A replica set's point: a snapshot session, its reads all at one cluster time, held until
 * the dump is read. Where the server ignores snapshot reads (no snapshotTime: FerretDB, a
 * standalone), the dump is spooled during the freeze, with the fingerprint taken before and
 * after: a difference means writers went on (a torn dump), and the point fails.
 */
export async function snapshotPoint(store: MongoStore, ctx: FreezeContext): Promise<SnapshotPoint> {
  const client = clientFor(store);
  await client.connect().catch((err: Error) => {
    throw explainConnectError(store, err);
  });
  const db = client.db(store.database);
  const where = describeMongo(store);
  try {
    const point = await clusterTimePoint(client, db, where);
    if (point) return point;
    return await spooledCheckedPoint(db, where, ctx).finally(() => client.close());
  } catch (err) {
    await client.close();
    throw err;
  }
}

async function clusterTimePoint(
  client: MongoClient,
  db: Db,
  where: string,
): Promise<SnapshotPoint | undefined> {
  const hello = await db.admin().command({ hello: 1 });
  if (!hello.setName) return undefined;
  const session = client.startSession({ snapshot: true });
  // Found by trying: the first read fixes the snapshot's time, where the server offers it.
  await db.collection('lazarus_point').findOne({}, { session });
  // The driver keeps the atClusterTime the server chose there (not in its typings).
  const { snapshotTime } = session as unknown as { snapshotTime?: { toString(): string } };
  if (!snapshotTime) {
    await session.endSession();
    return undefined;
  }
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= session.endSession().then(() => client.close()));
  return {
    position: `cluster time ${snapshotTime.toString()}`,
    open: async () => dumpStream({ db, where, session, close }),
    close,
  };
}

async function spooledCheckedPoint(db: Db, where: string, ctx: FreezeContext): Promise<SnapshotPoint> {
  const before = await liveFingerprint(db, where);
  const torn = (fingerprint: string) => {
    if (fingerprint !== before)
      throw new Error(
        `${where}: the database changed while it was dumped (a torn snapshot): the server has no ` +
          "write lock or snapshot reads here, so the application's pause hook must stop its writers",
      );
  };
  const file = spoolFile(ctx, 'mongodb.archive');
  await spooledPoint(dumpStream({ db, where, onDumped: torn, close: async () => {} }), file, ctx);
  torn(await liveFingerprint(db, where));
  return filePoint(file, `fingerprint ${before.slice(0, 16)}`);
}
