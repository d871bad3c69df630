/**
 * Reading binlog files as mariadb-binlog --raw writes them: the v4 event headers (19
 * bytes: timestamp, type, server id, size, next position, flags) and the few bodies that
 * say where a transaction starts and ends, which database it touches and which GTID it
 * has. Files are read in windows, never whole, and may still be growing: an event is
 * only taken when all of its bytes are there.
 */
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { FIRST_EVENT, type Gtid } from './points';

const HEADER = 19;
const WINDOW = 64 * 1024;
/** Enough of a body for the fields read here: GTIDs, database names, the start of a statement. */
const BODY_PREFIX = 1024;
const MAGIC = Buffer.from([0xfe, 0x62, 0x69, 0x6e]);

const QUERY = 2;
const XID = 16;
const TABLE_MAP = 19;
const GTID = 162;
const GTID_LIST = 163;
/** GTID event flag: a statement outside any transaction (DDL), no COMMIT or XID follows. */
const FL_STANDALONE = 1;

export interface BinlogEvent {
  type: number;
  /** Whole seconds: all the binlog keeps. */
  timestamp: number;
  serverId: number;
  /** Byte position of the event in its file, and of the byte after it. */
  pos: number;
  end: number;
  /** The start of the body (after the header), at most BODY_PREFIX bytes. */
  body: Buffer;
}

/** Reads one file from a position by windows of WINDOW bytes. */
export class BinlogReader {
  private window = Buffer.alloc(0);
  private windowAt = 0;

  private constructor(private readonly handle: FileHandle) {}

  static async open(file: string): Promise<BinlogReader> {
    return new BinlogReader(await fs.open(file, 'r'));
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  /** Whether the file starts with the binlog magic (false while it is shorter than that). */
  async hasMagic(): Promise<boolean> {
    const head = await this.bytes(0, MAGIC.length);
    if (head && !head.equals(MAGIC)) throw new Error('mariadb: not a binlog file (bad magic)');
    return head !== undefined;
  }

  /** The complete event at `pos`, or undefined when the file does not hold all of it yet. */
  async eventAt(pos: number, fileSize: number): Promise<BinlogEvent | undefined> {
    if (pos + HEADER > fileSize) return undefined;
    const header = (await this.bytes(pos, HEADER))!;
    const size = header.readUInt32LE(9);
    if (size < HEADER) throw new Error(`mariadb: corrupt binlog event at ${pos} (size ${size})`);
    if (pos + size > fileSize) return undefined;
    const body = (await this.bytes(pos + HEADER, Math.min(size - HEADER, BODY_PREFIX)))!;
    return {
      type: header[4],
      timestamp: header.readUInt32LE(0),
      serverId: header.readUInt32LE(5),
      pos,
      end: pos + size,
      body,
    };
  }

  private async bytes(pos: number, length: number): Promise<Buffer | undefined> {
    const from = pos - this.windowAt;
    if (from < 0 || from + length > this.window.length) {
      const buffer = Buffer.alloc(Math.max(WINDOW, length));
      const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, pos);
      this.window = buffer.subarray(0, bytesRead);
      this.windowAt = pos;
      if (length > bytesRead) return undefined;
      return this.window.subarray(0, length);
    }
    return this.window.subarray(from, from + length);
  }
}

/** One transaction (or standalone statement) of the binlog: an event group. */
export interface EventGroup {
  gtid: Gtid;
  /** Byte positions of the GTID event and of the byte after the group's last event. */
  start: number;
  end: number;
  /** The second of its last event (the commit), as the binlog stores it. */
  second: number;
  /** The databases it touches, as mariadb-binlog --database tells them (table maps, statements' default database). */
  databases: Set<string>;
  /** The statements' starts (standalone statements only: DDL, a mark). */
  statements: string[];
}

/**
 * Puts a file's events together into groups: a GTID event opens one; an XID event, a
 * COMMIT/ROLLBACK statement or, for a standalone GTID, its statement closes it.
 */
export class GroupAssembler {
  private open?: EventGroup & { standalone: boolean };
  /** The GTID state at the start of the file (its Gtid_list event). */
  startState: Gtid[] = [];

  /** Whether a group has started and not ended: its end is not a place to stop at. */
  get inGroup(): boolean {
    return this.open !== undefined;
  }

  feed(event: BinlogEvent): EventGroup | undefined {
    if (event.type === GTID_LIST) this.startState = gtidList(event.body);
    if (event.type === GTID) {
      this.open = {
        ...gtidEvent(event),
        start: event.pos,
        end: event.end,
        second: event.timestamp,
        databases: new Set(),
        statements: [],
      };
      return undefined;
    }
    const group = this.open;
    if (!group) return undefined;
    if (event.type === TABLE_MAP) group.databases.add(tableMapDatabase(event.body));
    if (event.type === XID) return this.close(event);
    if (event.type === QUERY) {
      const { database, statement } = queryEvent(event.body);
      if (/^(COMMIT|ROLLBACK)\b/i.test(statement)) return this.close(event);
      if (/^(BEGIN|XA START)\b/i.test(statement)) return undefined;
      if (database) group.databases.add(database);
      if (group.standalone) {
        group.statements.push(statement);
        return this.close(event);
      }
    }
    return undefined;
  }

  private close(event: BinlogEvent): EventGroup {
    const { gtid, start, databases, statements } = this.open!;
    this.open = undefined;
    return { gtid, start, databases, statements, end: event.end, second: event.timestamp };
  }
}

function gtidEvent(event: BinlogEvent): { gtid: Gtid; standalone: boolean } {
  const { body } = event;
  const seq = Number(body.readBigUInt64LE(0));
  const domain = body.readUInt32LE(8);
  return { gtid: { domain, server: event.serverId, seq }, standalone: (body[12] & FL_STANDALONE) !== 0 };
}

function gtidList(body: Buffer): Gtid[] {
  const count = body.readUInt32LE(0) & 0x0fffffff;
  const list: Gtid[] = [];
  for (let i = 0, at = 4; i < count && at + 16 <= body.length; i++, at += 16)
    list.push({
      domain: body.readUInt32LE(at),
      server: body.readUInt32LE(at + 4),
      seq: Number(body.readBigUInt64LE(at + 8)),
    });
  return list;
}

/** Table_map body: table id (6), flags (2), database length (1), database, NUL, ... */
function tableMapDatabase(body: Buffer): string {
  const length = body[8];
  return body.toString('utf8', 9, 9 + length);
}

/** Query body: thread (4), exec time (4), db length (1), error (2), status length (2), status, db, NUL, statement. */
function queryEvent(body: Buffer): { database: string; statement: string } {
  const dbLength = body[8];
  const statusLength = body.readUInt16LE(11);
  const dbAt = 13 + statusLength;
  return {
    database: body.toString('utf8', dbAt, dbAt + dbLength),
    statement: body.toString('utf8', dbAt + dbLength + 1).trimStart(),
  };
}

/**
 * Every complete group of a file from `from` on (0: the file's start), in order; `onGroup`
 * sees each. Returns where the next read starts (after the last complete event) and
 * `settled`, the last place outside any group (a replay can stop there), if one was passed.
 * The file may be growing: what is incomplete is left for the next call.
 */
export async function scanGroups(
  reader: BinlogReader,
  assembler: GroupAssembler,
  from: number,
  fileSize: number,
  onGroup: (group: EventGroup) => void = () => {},
): Promise<{ next: number; settled?: number }> {
  if (from < FIRST_EVENT && !(await reader.hasMagic())) return { next: from };
  let pos = Math.max(from, FIRST_EVENT);
  let settled: number | undefined = from < FIRST_EVENT ? FIRST_EVENT : undefined;
  for (;;) {
    const event = await reader.eventAt(pos, fileSize);
    if (!event) return { next: pos, settled };
    const group = assembler.feed(event);
    if (group) onGroup(group);
    pos = event.end;
    if (!assembler.inGroup) settled = pos;
  }
}
