/**
 * What a collection's fingerprint is made of, the same whether it is computed from a live
 * collection or from an archive: the count, an order-independent digest of the raw
 * documents (the sum of their SHA-256s mod 2^256: memory flat, any read order), and the
 * options and indexes in a normal form.
 */
import { createHash } from 'node:crypto';
import { BSON, type Document } from 'mongodb';
import { ContentHash } from '../shared/fingerprint';

const MOD = 1n << 256n;

/** The running order-independent digest of a collection's raw documents. */
export class DocumentDigest {
  private sum = 0n;
  count = 0;
  add(raw: Uint8Array): void {
    this.sum = (this.sum + BigInt(`0x${createHash('sha256').update(raw).digest('hex')}`)) % MOD;
    this.count++;
  }
  hex(): string {
    return this.sum.toString(16).padStart(64, '0');
  }
}

export interface CollectionShape {
  name: string;
  type: string;
  options: Document;
  indexes: Document[];
}

/** An index without what the server adds (v, ns), its fields sorted; `key` keeps its order, which matters. */
export function normalIndex(index: Document): Document {
  return Object.fromEntries(
    Object.entries(index)
      .filter(([field]) => field !== 'v' && field !== 'ns')
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

/** The indexes a restore creates itself: all but the one on _id, which comes with the collection. */
export function normalIndexes(indexes: Document[]): Document[] {
  return indexes
    .filter((index) => index.name !== '_id_')
    .map(normalIndex)
    .sort((a, b) => String(a.name).localeCompare(String(b.name)));
}

export function normalOptions(options: Document): Document {
  return Object.fromEntries(Object.entries(options).sort(([a], [b]) => a.localeCompare(b)));
}

/** One collection's fingerprint; its name is the live one (a staging copy passes the live name). */
export function collectionFingerprint(
  shape: CollectionShape,
  digest: { count: number; hex(): string },
): string {
  return (
    new ContentHash()
      .add(shape.name, shape.type)
      // Relaxed: an archive's options keep their BSON number types (Int32, Long) while a live
      // listing's are promoted to numbers; the value is what must match, not the type.
      .add(BSON.EJSON.stringify(normalOptions(shape.options), { relaxed: true }))
      .add(BSON.EJSON.stringify(normalIndexes(shape.indexes), { relaxed: true }))
      .add(digest.count, digest.hex())
      .hex()
  );
}

/** The database's fingerprint from its collections' (in name order). */
export function databaseFingerprint(collections: Map<string, string>): string {
  const sum = new ContentHash();
  for (const name of [...collections.keys()].sort()) sum.add(name, collections.get(name)!);
  return sum.hex();
}
