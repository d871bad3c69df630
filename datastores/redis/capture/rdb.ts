/**
 * The replication point an RDB records in its header: an RDB a master streams to a replica
 * carries `repl-id` and `repl-offset` auxiliary fields, equal to its FULLRESYNC reply. A
 * replay reads them from the base itself, so a base and its point cannot be mismatched.
 */
import { promises as fs } from 'node:fs';

const AUX = 0xfa;
const HEAD_BYTES = 64 * 1024;

export interface RdbPoint {
  replid: string;
  offset: number;
  /** `ctime`: when the RDB was made (whole seconds). */
  createdMs?: number;
}

export async function readRdbPoint(file: string): Promise<RdbPoint> {
  const handle = await fs.open(file, 'r');
  const head = Buffer.alloc(HEAD_BYTES);
  const { bytesRead } = await handle.read(head, 0, HEAD_BYTES, 0).finally(() => handle.close());
  const aux = auxFields(head.subarray(0, bytesRead), file);
  const replid = aux.get('repl-id');
  const offset = Number(aux.get('repl-offset'));
  if (!replid || !Number.isInteger(offset)) {
    throw new Error(
      `redis: the base ${file} records no replication point (repl-id/repl-offset): it was not taken by the capture engine's takeBase`,
    );
  }
  const ctime = Number(aux.get('ctime'));
  return { replid, offset, createdMs: Number.isInteger(ctime) ? ctime * 1000 : undefined };
}

function auxFields(bytes: Buffer, file: string): Map<string, string> {
  if (bytes.subarray(0, 5).toString('latin1') !== 'REDIS')
    throw new Error(`redis: ${file} is not an RDB file`);
  const fields = new Map<string, string>();
  const cursor = { at: 9 };
  while (cursor.at < bytes.length && bytes[cursor.at] === AUX) {
    cursor.at++;
    const key = readString(bytes, cursor);
    fields.set(key, readString(bytes, cursor));
  }
  return fields;
}

/** An RDB string: a length-prefixed run, or an integer in 1, 2 or 4 bytes. */
function readString(bytes: Buffer, cursor: { at: number }): string {
  const first = bytes[cursor.at];
  const kind = first >> 6;
  if (kind === 3) {
    cursor.at++;
    const format = first & 0x3f;
    const width = [1, 2, 4][format];
    if (width === undefined) throw new Error('redis: compressed string in the RDB header: unsupported');
    const value = bytes.readIntLE(cursor.at, width);
    cursor.at += width;
    return String(value);
  }
  const length = readLength(bytes, cursor);
  const text = bytes.subarray(cursor.at, cursor.at + length).toString('latin1');
  cursor.at += length;
  return text;
}

function readLength(bytes: Buffer, cursor: { at: number }): number {
  const first = bytes[cursor.at];
  const kind = first >> 6;
  if (kind === 0) {
    cursor.at += 1;
    return first & 0x3f;
  }
  if (kind === 1) {
    cursor.at += 2;
    return ((first & 0x3f) << 8) | bytes[cursor.at - 1];
  }
  if (first === 0x80) {
    cursor.at += 5;
    return bytes.readUInt32BE(cursor.at - 4);
  }
  cursor.at += 9;
  return Number(bytes.readBigUInt64BE(cursor.at - 8));
}
