/**
 * A snapshot point held as a file: for stores that offer no lasting read view (a
 * directory, an SQLite file), the data is copied aside while the group is frozen and
 * streamed from the copy once writes are released.
 */
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FreezeContext, SnapshotPoint } from '../adapter';

/** The file a point of this run and service is spooled to: a retry overwrites, never adds. */
export function spoolFile(ctx: FreezeContext, label: string): string {
  return path.join(ctx.scratchDir, `point-${ctx.stagingId}-${label}`);
}

/** Spools `source` to a file and returns the point that streams it back, then deletes it. */
export async function spooledPoint(
  source: Readable,
  file: string,
  ctx: FreezeContext,
  position?: string,
): Promise<SnapshotPoint> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await pipeline(source, createWriteStream(file), { signal: ctx.signal });
  return filePoint(file, position);
}

/** A point whose data is a file already written; the file goes when the point closes. */
export function filePoint(file: string, position?: string): SnapshotPoint {
  const close = () => fs.rm(file, { force: true });
  return {
    position,
    async open() {
      const stream = createReadStream(file);
      stream.on('close', () => void close());
      return stream;
    },
    close,
  };
}
