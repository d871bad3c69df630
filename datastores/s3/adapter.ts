import { CopyObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { AdapterFor } from '../adapter';
import { spooledPoint, spoolFile } from '../shared/spooled-point';
import { ArchiveWriter, type ArchivedObject, type ObjectHeader, StoreDigest, readArchive } from './archive';
import {
  type FetchedObject,
  type ListedObject,
  clientFor,
  deleteObjects,
  fetchObject,
  keyIn,
  listPlace,
  probeBucket,
} from './bucket';
import { type S3Place, type S3Store, describeS3, s3 as s3Spec, stagingPlace } from './spec';

/** Requests in flight at once where order does not matter (copies, reads for a fingerprint). */
const PARALLEL = 8;

/**
 * A bucket, or the objects under a prefix of it, with each object's metadata and tags.
 * The snapshot is our own framed stream (archive.ts), one object body at a time. A restore
 * uploads into a staging folder (beside the prefix, or in the staging bucket), checks its
 * fingerprint, then copies each object into place server-side and deletes the live objects
 * the snapshot does not have. That swap is NOT atomic: while it runs, readers see a mix of
 * old and restored objects (S3 has no rename); a failure before it leaves the live objects
 * untouched, and a retry of the same run stages afresh and copies again.
 */
export const s3Adapter: AdapterFor<'s3'> = {
  kind: 's3',

  async snapshot(store, ctx) {
    const client = clientFor(store);
    await probeBucket(client, store, store.bucket, 'bucket');
    return Readable.from(archive(client, store, ctx.signal), { objectMode: false });
  },

  // S3 has no snapshot of its own: writes are held by the application's pause hook, and the
  // objects copied aside (to a scratch file) while they are.
  async snapshotPoint(store, ctx) {
    return spooledPoint(await this.snapshot(store, ctx), spoolFile(ctx, 's3'), ctx);
  },

  async restore(store, data, ctx) {
    const client = clientFor(store);
    const staging = stagingPlace(store, ctx.stagingId);
    await probeBucket(client, store, store.bucket, 'bucket');
    if (staging.bucket !== store.bucket) await probeBucket(client, store, staging.bucket, 'staging_bucket');
    await deleteObjects(client, staging); // what an interrupted attempt of this run left
    const expected = await stage(client, staging, data, ctx.signal);
    const staged = await fingerprintPlace(client, staging);
    if (staged !== expected)
      throw new Error(
        `${describeS3(store)}: the staged objects do not match the snapshot; the live objects are untouched`,
      );
    await swapIn(client, staging, store, ctx.signal);
    await deleteObjects(client, staging);
  },

  async fingerprint(store) {
    const client = clientFor(store);
    await probeBucket(client, store, store.bucket, 'bucket');
    return fingerprintPlace(client, store);
  },

  async holdsData(store) {
    const client = clientFor(store);
    await probeBucket(client, store, store.bucket, 'bucket');
    for await (const _ of listPlace(client, store)) return true;
    return false;
  },

  discard: async (store, ctx) =>
    void (await deleteObjects(clientFor(store), stagingPlace(store, ctx.stagingId))),
  drop: async (store) => void (await deleteObjects(clientFor(store), store)),

  async count(store, prefix) {
    let objects = 0;
    for await (const object of listPlace(clientFor(store), store))
      if (object.relative.startsWith(prefix)) objects++;
    return objects;
  },

  retarget: s3Spec.retarget,
  describe: describeS3,
};

/** Objects up to this size are read whole, PARALLEL at a time; larger ones are streamed at their turn. */
const SMALL = 1 << 20;

/** The archive of a place: each object's header, its bytes as they arrive, their SHA-256. */
async function* archive(client: S3Client, store: S3Store, signal: AbortSignal): AsyncGenerator<Buffer> {
  const out = new ArchiveWriter();
  yield out.start(store.bucket, store.prefix);
  for await (const { listed, object } of fetchedInOrder(client, store)) {
    signal.throwIfAborted();
    if (!object) continue; // deleted since it was listed: not in the snapshot
    const { body, ...header } = object;
    yield out.object({ key: listed.relative, ...header });
    const hash = createHash('sha256');
    let read = 0;
    for await (const chunk of body) {
      hash.update(chunk as Buffer);
      read += (chunk as Buffer).length;
      yield out.pass(chunk as Buffer);
    }
    if (read !== object.size)
      throw new Error(`${describeS3(store)}: ${listed.key} gave ${read} of ${object.size} bytes`);
    yield out.pass(hash.digest());
  }
  yield out.end();
}

/**
 * The place's objects in key order, the small ones fetched ahead (at most PARALLEL, so at
 * most PARALLEL MiB held): one request at a time would leave a server of many small files idle.
 */
async function* fetchedInOrder(
  client: S3Client,
  store: S3Store,
): AsyncGenerator<{ listed: ListedObject; object?: FetchedObject }> {
  const queue: { listed: ListedObject; ahead?: Promise<FetchedObject | undefined> }[] = [];
  const next = async () => {
    const { listed, ahead } = queue.shift()!;
    return { listed, object: await (ahead ?? fetchObject(client, store.bucket, listed.key)) };
  };
  for await (const listed of listPlace(client, store)) {
    const ahead = listed.size <= SMALL ? fetchWhole(client, store.bucket, listed.key) : undefined;
    ahead?.catch(() => {}); // awaited in turn
    queue.push({ listed, ahead });
    if (queue.length >= PARALLEL) yield await next();
  }
  while (queue.length > 0) yield await next();
}

async function fetchWhole(client: S3Client, bucket: string, key: string): Promise<FetchedObject | undefined> {
  const object = await fetchObject(client, bucket, key);
  if (!object || object.size > SMALL) return object; // grown since it was listed: streamed
  return { ...object, body: Readable.from([await collect(object.body)]) };
}

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of body) parts.push(part);
  return Buffer.concat(parts);
}

/**
 * Uploads every archived object into the staging place; returns the fingerprint the archive
 * promises. Small objects are read whole (verified) and uploaded PARALLEL at a time; every
 * upload has ended before this returns or throws, so none lands after a discard.
 */
async function stage(
  client: S3Client,
  staging: S3Place,
  data: Readable,
  signal: AbortSignal,
): Promise<string> {
  const expected = new StoreDigest();
  const pool = new Pool(PARALLEL);
  try {
    for await (const object of readArchive(data)) {
      signal.throwIfAborted();
      const { header } = object;
      if (header.size <= SMALL) {
        const bytes = await collect(object.body);
        await pool.room();
        pool.add(() => put(client, staging, header, bytes, signal));
      } else await upload(client, staging, object, signal);
      expected.add(header.key, object.sha256(), header.metadata, header.tags);
    }
  } finally {
    await pool.drain().catch(() => {});
  }
  await pool.drain();
  return expected.hex();
}

/** One PUT into the staging place, with the object's metadata and tags. */
async function put(
  client: S3Client,
  staging: S3Place,
  { key, size, metadata, tags }: ObjectHeader,
  body: Buffer | Readable,
  signal: AbortSignal,
): Promise<void> {
  await client.send(
    new PutObjectCommand({
      Bucket: staging.bucket,
      Key: keyIn(staging, key),
      Body: body,
      ContentLength: size,
      ...metadata,
      ...(tags.length ? { Tagging: new URLSearchParams(tags).toString() } : {}),
    }),
    { abortSignal: signal },
  );
}

/**
 * A large object, streamed from the archive into a single PUT of known length (up to S3's
 * 5 GiB limit for one PUT: larger objects would need a multipart upload, not done here).
 */
async function upload(
  client: S3Client,
  staging: S3Place,
  object: ArchivedObject,
  signal: AbortSignal,
): Promise<void> {
  // The SDK pipes a body without watching it: a snapshot that breaks mid-object must abort
  // the PUT (and fail with its own error), not leave it waiting for bytes that never come.
  const abort = new AbortController();
  const stop = () => abort.abort(signal.reason);
  signal.addEventListener('abort', stop, { once: true });
  let broken: unknown;
  const body = Readable.from(object.body, { objectMode: false });
  body.on('error', (err) => {
    broken = err;
    abort.abort(err);
  });
  try {
    await put(client, staging, object.header, body, abort.signal);
  } catch (err) {
    throw broken ?? err;
  } finally {
    signal.removeEventListener('abort', stop);
  }
  // The body stream ends, verified, only once it is read through; a PUT may stop short of its end.
  await drained(object.body);
  if (broken) throw broken;
}

/** Reads a body to its (verified) end. */
async function drained(body: AsyncIterable<Buffer>): Promise<void> {
  const iterator = body[Symbol.asyncIterator]();
  while (!(await iterator.next()).done);
}

/**
 * A place's fingerprint: every object read and hashed with its metadata and tags. Reading
 * every byte is the cost of a fingerprint that means "equal data" (an ETag is no content
 * hash once an object was uploaded in parts); it is what the restore's staging check reads too.
 */
async function fingerprintPlace(client: S3Client, place: S3Place): Promise<string> {
  const digest = new StoreDigest();
  await inParallel(listPlace(client, place), PARALLEL, async (listed) => {
    const object = await fetchObject(client, place.bucket, listed.key);
    if (!object) return;
    const hash = createHash('sha256');
    for await (const chunk of object.body) hash.update(chunk as Buffer);
    digest.add(listed.relative, hash.digest('hex'), object.metadata, object.tags);
  });
  return digest.hex();
}

/**
 * Copies each staged object over its live key, server-side, with its metadata and tags
 * (one CopyObject each: up to 5 GiB, S3's limit for a single copy); then deletes the live
 * objects the snapshot does not have. The staged keys are held (one string each) for that.
 */
async function swapIn(client: S3Client, staging: S3Place, live: S3Store, signal: AbortSignal): Promise<void> {
  const restored = new Set<string>();
  await inParallel(listPlace(client, staging), PARALLEL, async (object) => {
    signal.throwIfAborted();
    await client.send(
      new CopyObjectCommand({
        Bucket: live.bucket,
        Key: keyIn(live, object.relative),
        CopySource: `${staging.bucket}/${encodeURIComponent(object.key).replace(/%2F/g, '/')}`,
        MetadataDirective: 'COPY',
        TaggingDirective: 'COPY',
      }),
      { abortSignal: signal },
    );
    restored.add(object.relative);
  });
  await deleteObjects(client, live, (relative) => restored.has(relative));
}

/** At most `limit` tasks at once; the first failure is thrown by the next `room` or `drain`. */
class Pool {
  private readonly running = new Set<Promise<void>>();
  private failure: { err: unknown } | undefined;

  constructor(private readonly limit: number) {}

  add(task: () => Promise<void>): void {
    const run: Promise<void> = task().then(
      () => void this.running.delete(run),
      (err) => {
        this.failure ??= { err };
        this.running.delete(run);
      },
    );
    this.running.add(run);
  }

  /** Waits until another task may start. */
  async room(): Promise<void> {
    while (this.running.size >= this.limit) await Promise.race(this.running);
    if (this.failure) throw this.failure.err;
  }

  async drain(): Promise<void> {
    await Promise.all(this.running);
    if (this.failure) throw this.failure.err;
  }
}

/** Runs `work` on each item, at most `limit` at once; the first failure stops it. */
async function inParallel<T>(
  items: AsyncIterable<T>,
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const pool = new Pool(limit);
  try {
    for await (const item of items) {
      await pool.room();
      pool.add(() => work(item));
    }
  } finally {
    await pool.drain().catch(() => {});
  }
  await pool.drain();
}
