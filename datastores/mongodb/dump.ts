/** A database's snapshot as an archive stream (archive.ts), read with backpressure. */
import { Readable } from 'node:stream';
import type { ClientSession, Db } from 'mongodb';
import { ArchiveHash, FORMAT, Tag, frame } from './archive';
import { collectionShapes, rawDocuments } from './collections';
import { DocumentDigest, collectionFingerprint, databaseFingerprint } from './fingerprint';

export interface DumpSource {
  db: Db;
  where: string;
  /** A snapshot session (replica set): every read at its one cluster time. */
  session?: ClientSession;
  /** Told the database's fingerprint as dumped, once the trailer is written. */
  onDumped?: (fingerprint: string) => void | Promise<void>;
  /** Closes the connection, whether the dump ended or failed. */
  close: () => Promise<void>;
}

export function dumpStream(source: DumpSource): Readable {
  return Readable.from(dumpFrames(source), { objectMode: false });
}

async function* dumpFrames({ db, where, session, onDumped, close }: DumpSource): AsyncGenerator<Buffer> {
  try {
    const hash = new ArchiveHash();
    const shapes = await collectionShapes(db, where);
    yield hash.add(
      frame(Tag.header, { format: FORMAT, db: db.databaseName, collections: shapes.map((s) => s.name) }),
    );
    const fingerprints = new Map<string, string>();
    for (const shape of shapes) {
      yield hash.add(frame(Tag.collection, shape));
      const digest = new DocumentDigest();
      if (shape.type === 'collection')
        for await (const raw of rawDocuments(db, shape.name, session)) {
          digest.add(raw);
          yield hash.add(frame(Tag.document, raw));
        }
      yield hash.add(frame(Tag.end, { name: shape.name, count: digest.count, digest: digest.hex() }));
      fingerprints.set(shape.name, collectionFingerprint(shape, digest));
    }
    yield frame(Tag.trailer, { collections: shapes.length, sha256: hash.hex() });
    await onDumped?.(databaseFingerprint(fingerprints));
  } finally {
    await close();
  }
}
