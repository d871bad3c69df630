import path from 'node:path';
import type { AdapterFor } from '../adapter';
import {
  type BlobIndexStore,
  dropBlobIndex,
  hashBlobs,
  indexHolds,
  restoreBlobIndex,
  settleBlobIndex,
  snapshotBlobIndex,
} from '../shared/blob-index';
import { ContentHash } from '../shared/fingerprint';
import { blobsDirOf, sqliteFileOf } from '../shared/miniflare-state';
import { spooledPoint, spoolFile } from '../shared/spooled-point';
import { withReader } from '../shared/sqlite-file';
import { r2 } from './spec';

type R2Store = Parameters<AdapterFor<'r2'>['snapshot']>[0];

const describeR2 = (store: R2Store) => `R2 bucket ${store.bucket} in ${store.path}`;

/**
 * The bucket's files: the index (`_mf_objects`, and for multipart uploads
 * `_mf_multipart_parts`, whose parts hold the bodies of objects with no blob_id) and the bodies.
 */
function filesOf(store: R2Store): BlobIndexStore {
  return {
    what: describeR2(store),
    index: sqliteFileOf('r2', store.path, store.bucket),
    blobs: blobsDirOf('r2', store.path, store.bucket),
    referencedBlobs:
      'SELECT blob_id FROM _mf_objects WHERE blob_id IS NOT NULL UNION SELECT blob_id FROM _mf_multipart_parts ORDER BY 1',
  };
}

/** An object's body: its blob, or its parts in order (rows of one key follow each other). */
const OBJECTS = `
  SELECT o.key, o.size, o.etag, o.http_metadata, o.custom_metadata, coalesce(o.blob_id, p.blob_id) AS blob
  FROM _mf_objects o LEFT JOIN _mf_multipart_parts p ON o.blob_id IS NULL AND p.object_key = o.key
  ORDER BY o.key, p.part_number`;

type ObjectRow = [key: string, size: number, etag: string, http: string, custom: string, blob: string | null];

/** An R2 bucket of a self-hosted workerd: its index and body files, as one tar (datastores/shared/blob-index.ts). */
export const r2Adapter: AdapterFor<'r2'> = {
  kind: 'r2',

  snapshot: (store, ctx) => snapshotBlobIndex(filesOf(store), ctx),
  // No freeze of its own: the index is read at one moment; the tar is spooled during the group's freeze.
  async snapshotPoint(store, ctx) {
    return spooledPoint(await snapshotBlobIndex(filesOf(store), ctx), spoolFile(ctx, 'r2.tar'), ctx);
  },
  /** The caller has quiesced the host (stopped workerd): see restoreBlobIndex. */
  restore: (store, data, ctx) => restoreBlobIndex(filesOf(store), data, ctx),

  /** Every object's key, body and metadata, whatever blob files they are in. */
  async fingerprint(store) {
    const files = filesOf(store);
    return withReader(files.index, async (db) => {
      const sum = new ContentHash();
      let object: { row: ObjectRow; blobs: string[] } | undefined;
      const add = async ({ row, blobs }: { row: ObjectRow; blobs: string[] }) =>
        sum.add(...row.slice(0, 5), await hashBlobs(files, blobs, `object ${row[0]}`));
      for (const row of db.prepare(OBJECTS).raw().iterate() as Iterable<ObjectRow>) {
        if (object && object.row[0] !== row[0]) await add(object);
        if (!object || object.row[0] !== row[0]) object = { row, blobs: [] };
        if (row[5] !== null) object.blobs.push(row[5]);
      }
      if (object) await add(object);
      return sum.hex();
    });
  },

  holdsData: (store) => indexHolds(filesOf(store), 'SELECT 1 FROM _mf_objects LIMIT 1'),
  drop: (store) => dropBlobIndex(filesOf(store)),
  /** Objects whose key starts with the prefix ("" for all). */
  count: (store, prefix) =>
    withReader(filesOf(store).index, (db) =>
      Number(db.prepare('SELECT COUNT(*) FROM _mf_objects WHERE instr(key, ?) = 1').pluck().get(prefix)),
    ),

  discard: (store, ctx) => settleBlobIndex(filesOf(store), ctx.stagingId),
  // The worker resolves a relative target against its own directory (the CLI sends absolute ones).
  retarget: (store, target) => r2.retarget(store, path.resolve(target)),
  describe: describeR2,
};
