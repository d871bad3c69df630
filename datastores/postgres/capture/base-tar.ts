/**
 * Reads, as pg_basebackup's tar streams past, what the backup says of itself: its
 * backup_manifest's WAL-Ranges (where the base is consistent from and to, on which
 * timeline). pg_basebackup prints those points only when it fetches or streams WAL
 * itself; with -X none to standard output the manifest inside the tar is where they are.
 * Only a small tail of the one entry is kept: memory stays flat whatever the base's size.
 */
import { Transform, type TransformCallback } from 'node:stream';

const BLOCK = 512;
const TAIL = 16 * 1024;

export class BackupManifestWatcher extends Transform {
  private header = Buffer.alloc(0);
  /** Bytes of the current entry (data and padding) still to come, and of its data. */
  private left = 0;
  private dataLeft = 0;
  private watching = false;
  private tail = Buffer.alloc(0);

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.scan(chunk);
    callback(null, chunk);
  }

  private scan(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.left > 0) {
        const taken = Math.min(this.left, chunk.length - at);
        const data = Math.min(taken, this.dataLeft);
        if (this.watching && data > 0) this.keep(chunk.subarray(at, at + data));
        this.dataLeft -= data;
        this.left -= taken;
        at += taken;
        continue;
      }
      const taken = Math.min(BLOCK - this.header.length, chunk.length - at);
      this.header = Buffer.concat([this.header, chunk.subarray(at, at + taken)]);
      at += taken;
      if (this.header.length === BLOCK) this.startEntry();
    }
  }

  private startEntry(): void {
    const header = this.header;
    this.header = Buffer.alloc(0);
    if (header.every((b) => b === 0)) return; // the end-of-archive blocks
    const text = (from: number, to: number) => header.toString('latin1', from, to).replace(/\0.*$/s, '');
    const prefix = text(345, 500);
    const name = (prefix ? `${prefix}/` : '') + text(0, 100);
    const size = entrySize(header);
    this.dataLeft = size;
    this.left = Math.ceil(size / BLOCK) * BLOCK;
    this.watching = name === 'backup_manifest' || name === './backup_manifest';
    if (this.watching) this.tail = Buffer.alloc(0);
  }

  private keep(data: Buffer): void {
    this.tail = Buffer.concat([this.tail, data]);
    if (this.tail.length > TAIL) this.tail = this.tail.subarray(this.tail.length - TAIL);
  }

  /** The manifest's WAL ranges: the first one's start, the last one's end and timeline. */
  walRange(): { start: string; end: string; timeline: number } | undefined {
    const text = this.tail.toString('utf8');
    const ranges = [
      ...text.matchAll(
        /"Timeline":\s*(\d+),\s*"Start-LSN":\s*"([0-9A-F/]+)",\s*"End-LSN":\s*"([0-9A-F/]+)"/g,
      ),
    ];
    if (!ranges.length) return undefined;
    const last = ranges[ranges.length - 1];
    return { start: ranges[0][2], end: last[3], timeline: Number(last[1]) };
  }
}

/** A tar header's size field: octal text, or base-256 (high bit set) beyond 8 GiB. */
function entrySize(header: Buffer): number {
  if (header[124] & 0x80) {
    let size = 0;
    for (let i = 125; i < 136; i++) size = size * 256 + header[i];
    return size;
  }
  return parseInt(header.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8);
}
