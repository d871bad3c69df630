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
import { kv } from './spec';

type KvStore = Parameters<AdapterFor<'kv'>['snapshot']>[0];

const describeKv = (store: KvStore) => `KV namespace ${store.namespace_id} in ${store.path}`;

/** The namespace's files: the index (`_mf_entries`: key, blob_id, expiration, metadata) and the values. */
function filesOf(store: KvStore): BlobIndexStore {
  return {
    what: describeKv(store),
    index: sqliteFileOf('kv', store.path, store.namespace_id),
    blobs: blobsDirOf('kv', store.path, store.namespace_id),
    referencedBlobs: 'SELECT DISTINCT blob_id FROM _mf_entries ORDER BY 1',
  };
}

/** A KV namespace of a self-hosted workerd: its index and value files, as one tar (datastores/shared/blob-index.ts). */
export const kvAdapter: AdapterFor<'kv'> = {
  kind: 'kv',

  snapshot: (store, ctx) => snapshotBlobIndex(filesOf(store), ctx),
  // No freeze of its own: the index is read at one moment; the tar is spooled during the group's freeze.
  async snapshotPoint(store, ctx) {
    return spooledPoint(await snapshotBlobIndex(filesOf(store), ctx), spoolFile(ctx, 'kv.tar'), ctx);
  },
  /** The caller has quiesced the host (stopped workerd): see restoreBlobIndex. */
  restore: (store, data, ctx) => restoreBlobIndex(filesOf(store), data, ctx),

  /** Every key with its value, metadata and expiration, whatever blob files they are in. */
  async fingerprint(store) {
    const files = filesOf(store);
    return withReader(files.index, async (db) => {
      const sum = new ContentHash();
      const rows = db
        .prepare('SELECT key, blob_id, expiration, metadata FROM _mf_entries ORDER BY key')
        .raw()
        .iterate() as Iterable<[string, string, number | null, string | null]>;
      for (const [key, blob, expiration, metadata] of rows)
        sum.add(key, expiration, metadata, await hashBlobs(files, [blob], `key ${key}`));
      return sum.hex();
    });
  },

  holdsData: (store) => indexHolds(filesOf(store), 'SELECT 1 FROM _mf_entries LIMIT 1'),
  drop: (store) => dropBlobIndex(filesOf(store)),
  /** Keys matching a glob (`*` for all, `user:*` for a prefix) that have not expired. */
  count: (store, pattern) =>
    withReader(filesOf(store).index, (db) =>
      Number(
        db
          .prepare(
            'SELECT COUNT(*) FROM _mf_entries WHERE key GLOB ? AND (expiration IS NULL OR expiration > ?)',
          )
          .pluck()
          .get(pattern, Date.now()),
      ),
    ),

  discard: (store, ctx) => settleBlobIndex(filesOf(store), ctx.stagingId),
  // The worker resolves a relative target against its own directory (the CLI sends absolute ones).
  retarget: (store, target) => kv.retarget(store, path.resolve(target)),
  describe: describeKv,
};
