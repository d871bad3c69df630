/**
 * What one spool file holds, followed as mariadb-binlog appends to it: its complete
 * groups, each marked with the time this process first saw it whole, and the last place
 * outside a group (what a replay can stop at, so what is durable).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { LogFile, LogPoint } from '../../capture';
import { BinlogReader, GroupAssembler, scanGroups, type EventGroup } from './binlog';
import { FIRST_EVENT, gtidText, logPoint, offsetOf, type BinlogPos } from './points';

type Mark = LogFile['marks'][number];

export class FileTracker {
  private reader?: BinlogReader;
  private readonly assembler = new GroupAssembler();
  private next = 0;
  private settled?: number;
  private lastGtid = '';
  private readonly marks: Mark[] = [];
  /** Groups read again on a resumed session: seen long after they were written, only their second is known. */
  private secondOnly = false;
  /** Where the file's successor starts, once the tool moved on to it. */
  private sealedAt?: BinlogPos;

  constructor(
    readonly name: string,
    private readonly dir: string,
    private readonly domain: number,
    /** Until this position the groups are a re-read of an earlier session's, not a fresh receipt. */
    private readonly rereadUntil: number,
    private readonly check: (group: EventGroup) => void,
  ) {}

  /** Where reading stopped: every event before it was read whole. */
  get parsed(): number {
    return this.next;
  }

  get sealed(): boolean {
    return this.sealedAt !== undefined;
  }

  /** Reads what was appended since the last call. */
  async refresh(): Promise<void> {
    const file = path.join(this.dir, this.name);
    const { size } = await fs.stat(file);
    this.reader ??= await BinlogReader.open(file);
    const seenAt = Date.now();
    const { next, settled } = await scanGroups(this.reader, this.assembler, this.next, size, (group) =>
      this.add(group, seenAt),
    );
    this.next = next;
    if (settled !== undefined) this.settled = settled;
  }

  /** The tool opened `successor`: this file is complete once read to its end. */
  async seal(successor: string): Promise<void> {
    await this.refresh();
    this.sealedAt = { file: successor, pos: FIRST_EVENT };
    await this.close();
  }

  async close(): Promise<void> {
    await this.reader?.close();
    this.reader = undefined;
  }

  /** The file as files() lists it; undefined until its first events are there. */
  describe(lineage: string): LogFile | undefined {
    if (this.settled === undefined) return undefined;
    const start = this.assembler.startState.find((g) => g.domain === this.domain);
    const endAt = this.sealedAt ?? { file: this.name, pos: this.settled };
    const end: LogPoint = logPoint(
      this.lastGtid || (start ? gtidText(start) : ''),
      endAt,
      this.marks.at(-1)?.time,
    );
    return {
      name: this.name,
      sealed: this.sealed,
      lineage,
      start: logPoint(start ? gtidText(start) : '', { file: this.name, pos: FIRST_EVENT }),
      end,
      marks: [...this.marks],
      timeQuality: this.secondOnly ? 'second' : 'receipt',
    };
  }

  private add(group: EventGroup, seenAt: number): void {
    this.check(group);
    if (group.gtid.domain !== this.domain) return;
    const fresh = group.end > this.rereadUntil;
    if (!fresh) this.secondOnly = true;
    this.lastGtid = gtidText(group.gtid);
    this.marks.push({
      time: new Date(commitBound(group.second, fresh ? seenAt : undefined)).toISOString(),
      offset: offsetOf({ file: this.name, pos: group.end }),
      position: logPoint(this.lastGtid, { file: this.name, pos: group.end }).position,
    });
  }
}

/**
 * A transaction's time here is when its committing statement started, on the server's
 * clock (what NOW() returns in it; the binlog keeps its second). This returns the latest
 * that time can be, in ms: when the group was seen whole (it started before it was sent),
 * but not past the end of the second the binlog states (the tool may buffer, capture may
 * lag); the end of that second when only the second is known. Never earlier than the
 * transaction's time, so a time target never takes in a transaction of a later time.
 * (A mark's time is thus an upper bound, not the commit's time: a target inside the gap
 * between the two leaves that transaction out.)
 */
export function commitBound(second: number, seenAt?: number): number {
  // Past every microsecond of the second: a time target is in ms, the transaction's time in µs.
  const endOfSecond = (second + 1) * 1000;
  if (seenAt === undefined) return endOfSecond;
  // Date.now() is the ms the receipt fell in: the receipt was before the ms after it.
  return Math.min(Math.max(seenAt + 1, second * 1000), endOfSecond);
}
