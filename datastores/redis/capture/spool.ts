/**
 * The spool of a capture session: the raw RESP command stream in files named after the
 * lineage and the offset they start at (`<replid>-<offset, 20 digits>.resp`), so that they
 * sort and say what they hold. A file is cut only between commands (and transactions);
 * bytes of a command still arriving may sit past a file's `end`, which counts complete ones only.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { LogFile } from '../../capture';
import { offsetPoint } from './points';

interface OpenFile {
  info: LogFile;
  handle: fs.FileHandle;
}

/**
 * What one chunk of stream brought: the stream offsets (absolute, ascending) at which a
 * command ended outside any MULTI/EXEC in it. Only those are durable ends, rotation points
 * and marks: a replay may stop there, and a session resumed there starts between transactions.
 */
export interface Arrival {
  bytes: Buffer;
  ends: number[];
  receivedAt: number;
}

export function spoolFileName(lineage: string, start: number): string {
  return `${lineage}-${String(start).padStart(20, '0')}.resp`;
}

export class Spool {
  private readonly done: LogFile[] = [];
  private current: OpenFile | undefined;
  private rotateAsked = false;
  /** Offset after every byte written; `durable`: after the last complete command (outside MULTI/EXEC). */
  private written: number;
  durable: number;

  constructor(
    private readonly dir: string,
    private readonly lineage: string,
    start: number,
    private readonly segmentBytes: number,
    /** The replication id the master streams under now (named in positions). */
    public replid: string,
  ) {
    this.written = start;
    this.durable = start;
  }

  /** One change at a time: a rotation asked for during a write must not seal the file under it. */
  private queue: Promise<void> = Promise.resolve();

  private serial(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => {});
    return next;
  }

  append(arrival: Arrival): Promise<void> {
    return this.serial(() => this.appendNow(arrival));
  }

  private async appendNow(arrival: Arrival): Promise<void> {
    const chunkStart = this.written;
    let from = 0;
    for (const end of arrival.ends) {
      const fileStart = this.current?.info.start.offset ?? this.written;
      if (!this.rotateAsked && end - fileStart < this.segmentBytes) continue;
      await this.write(arrival.bytes.subarray(from, end - chunkStart), end);
      from = end - chunkStart;
      await this.seal();
    }
    const last = arrival.ends[arrival.ends.length - 1];
    await this.write(arrival.bytes.subarray(from), last);
    if (last !== undefined) this.mark(arrival.receivedAt, last);
  }

  /** Cuts the current file at the next command boundary (now, if it ends on one). */
  rotate(): Promise<void> {
    return this.serial(async () => {
      this.rotateAsked = true;
      if (this.current && this.written === this.durable) await this.seal();
    });
  }

  /** A mark at `now` for the durable end, when the stream is idle there: nothing was missed until now. */
  idleMark(now: number): void {
    if (this.written === this.durable) this.mark(now, this.durable);
  }

  files(): LogFile[] {
    const all = this.current ? [...this.done, this.current.info] : [...this.done];
    return all.map((file) => ({
      ...file,
      start: { ...file.start },
      end: { ...file.end },
      marks: [...file.marks],
    }));
  }

  close(): Promise<void> {
    return this.serial(() => this.seal());
  }

  /** Writes bytes at `written`; `durableEnd`: the command boundary the bytes reach, if any. */
  private async write(bytes: Buffer, durableEnd?: number): Promise<void> {
    if (bytes.length > 0) {
      const file = this.current ?? (await this.open());
      await file.handle.write(bytes);
      this.written += bytes.length;
    }
    if (durableEnd !== undefined && durableEnd > this.durable) {
      this.durable = durableEnd;
      if (this.current) this.current.info.end = offsetPoint(this.replid, durableEnd);
    }
  }

  private async open(): Promise<OpenFile> {
    const name = spoolFileName(this.lineage, this.written);
    await fs.mkdir(this.dir, { recursive: true });
    // 'w': a file of the same name is a killed session's tail past its durable end; this one replaces it.
    const handle = await fs.open(path.join(this.dir, name), 'w');
    const start = offsetPoint(this.replid, this.written);
    const info: LogFile = {
      name,
      sealed: false,
      lineage: this.lineage,
      start,
      end: { ...start },
      marks: [],
      timeQuality: 'receipt',
    };
    this.current = { info, handle };
    return this.current;
  }

  private async seal(): Promise<void> {
    const file = this.current;
    if (!file) return;
    this.current = undefined;
    this.rotateAsked = false;
    await file.handle.sync();
    await file.handle.close();
    file.info.sealed = true;
    this.done.push(file.info);
  }

  private mark(time: number, offset: number): void {
    const file = this.current?.info ?? this.done[this.done.length - 1];
    if (!file || offset < file.start.offset || offset > file.end.offset) return;
    const marks = file.marks;
    const last = marks[marks.length - 1];
    const iso = new Date(time).toISOString();
    if (last && last.offset === offset && last.time >= iso) return;
    // One mark per millisecond: the later offset, since everything up to it had arrived by then.
    if (last && last.time === iso) marks.pop();
    marks.push({ time: iso, offset, position: `${this.replid}:${offset}` });
  }
}
