/**
 * Where a self-hosted workerd (run by miniflare 4.20260426, the version in package.json)
 * keeps a D1 database, a KV namespace or an R2 bucket under its persist root: one SQLite
 * file per resource, named by a keyed hash of the resource's id, and for KV and R2 a
 * directory of value files (blobs) that the SQLite file indexes. This is miniflare's
 * internal layout, not an API: a miniflare upgrade must be checked against
 * test/unit/miniflare-state.test.ts.
 */
import { createHash, createHmac } from 'node:crypto';
import path from 'node:path';

export type WorkerdResource = 'd1' | 'kv' | 'r2';

/** The Durable Object class miniflare keeps each resource in: its files' directory and key. */
const objectClass: Record<WorkerdResource, string> = {
  d1: 'miniflare-D1DatabaseObject',
  kv: 'miniflare-KVNamespaceObject',
  r2: 'miniflare-R2BucketObject',
};

/**
 * The name workerd gives a Durable Object's file, as `idFromName(resourceId)` derives it:
 * key = SHA-256(class), a = HMAC(key, resourceId)[0..16], id = hex(a ‖ HMAC(key, a)[0..16]).
 */
export function durableObjectFileId(uniqueKey: string, resourceId: string): string {
  const key = createHash('sha256').update(uniqueKey).digest();
  const a = createHmac('sha256', key).update(resourceId).digest().subarray(0, 16);
  const b = createHmac('sha256', key).update(a).digest().subarray(0, 16);
  return Buffer.concat([a, b]).toString('hex');
}

/**
 * The resource's SQLite file: the D1 database itself, or the KV or R2 index. The resource
 * id is the D1 `database_id`, the KV namespace id or the R2 bucket name, never the binding
 * name (renaming a binding keeps its data).
 */
export function sqliteFileOf(kind: WorkerdResource, root: string, resourceId: string): string {
  const dir = path.join(root, kind, objectClass[kind]);
  return path.join(dir, `${durableObjectFileId(objectClass[kind], resourceId)}.sqlite`);
}

/** The directory of a KV namespace's values or an R2 bucket's object bodies, one immutable file each. */
export function blobsDirOf(kind: 'kv' | 'r2', root: string, resourceId: string): string {
  return path.join(root, kind, sanitisePath(resourceId), 'blobs');
}

/** SQLite's journal files beside a database: a stale one would be replayed into a replaced file. */
export const SQLITE_JOURNALS = ['-wal', '-shm', '-journal'] as const;

/**
 * miniflare's own file-name sanitiser (from node-sanitize-filename), which names a
 * namespace's blobs directory: dots-only segments, reserved characters and names made safe.
 */
export function sanitisePath(unsafe: string): string {
  const dots = /(^|\/|\\)(\.+)(\/|\\|$)/g;
  const dotsAsUnderscores = (_: string, g1: string, g2: string, g3: string) =>
    `${g1}${''.padStart(g2.length, '_')}${g3}`;
  const underscores = (match: string) => ''.padStart(match.length, '_');
  return (
    unsafe
      .replace(dots, dotsAsUnderscores)
      .replace(dots, dotsAsUnderscores)
      // eslint-disable-next-line no-control-regex -- miniflare's own pattern, control characters included
      .replace(/[?<>*"'^/\\:|\x00-\x1f\x80-\x9f]/g, '_')
      .replace(/^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i, '_')
      .replace(/^[ /\\]+/, underscores)
      .replace(/[ /\\]+$/, underscores)
      .substring(0, 255)
  );
}
