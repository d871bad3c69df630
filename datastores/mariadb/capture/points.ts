/**
 * MariaDB log points: a GTID with the binlog file and byte position after it
 * ("0-42-1403 mdb-bin.000002:12345"), and the offset the generic layer compares: the
 * file's sequence number * 2^32 + the byte position, so it grows with every byte of log.
 */
import type { LogPoint } from '../../capture';

/** Where the first event of every binlog file starts (after the 4-byte magic). */
export const FIRST_EVENT = 4;
const FILE_SPAN = 2 ** 32;

export interface BinlogPos {
  file: string;
  pos: number;
}

/** The sequence number a binlog file name ends in: mdb-bin.000002 -> 2. */
export function fileSequence(file: string): number {
  const match = /\.(\d+)$/.exec(file);
  if (!match) throw new Error(`mariadb: ${file} is not a binlog file name (base.NNNNNN)`);
  return Number(match[1]);
}

/** The file with sequence `seq` in the series `file` belongs to. */
export function fileWithSequence(file: string, seq: number): string {
  const digits = /\.(\d+)$/.exec(file)![1].length;
  return `${file.replace(/\.\d+$/, '')}.${String(seq).padStart(digits, '0')}`;
}

export function offsetOf({ file, pos }: BinlogPos): number {
  return fileSequence(file) * FILE_SPAN + pos;
}

/** The binlog position an offset stands for, in the series `like` belongs to. */
export function binlogPosOf(offset: number, like: string): BinlogPos {
  return { file: fileWithSequence(like, Math.floor(offset / FILE_SPAN)), pos: offset % FILE_SPAN };
}

/** A log point: `gtid` is the GTID state there in the stream's domain ('' before any). */
export function logPoint(gtid: string, at: BinlogPos, time?: string): LogPoint {
  return { position: `${gtid || '-'} ${at.file}:${at.pos}`, offset: offsetOf(at), ...(time ? { time } : {}) };
}

/** The GTID and binlog position of a log point's text. */
export function parsePosition(position: string): { gtid: string; at?: BinlogPos } {
  const [gtid, where] = position.trim().split(/\s+/);
  const match = where ? /^(.+):(\d+)$/.exec(where) : null;
  return {
    gtid: gtid === '-' ? '' : gtid,
    ...(match ? { at: { file: match[1], pos: Number(match[2]) } } : {}),
  };
}

export interface Gtid {
  domain: number;
  server: number;
  seq: number;
}

export const gtidText = (g: Gtid) => `${g.domain}-${g.server}-${g.seq}`;

export function parseGtid(text: string): Gtid | undefined {
  const match = /^(\d+)-(\d+)-(\d+)$/.exec(text.trim());
  return match ? { domain: Number(match[1]), server: Number(match[2]), seq: Number(match[3]) } : undefined;
}

/** The entry for `domain` in a GTID list ("0-42-268,1-5-3"), '' when it has none. */
export function gtidInDomain(list: string, domain: number): string {
  for (const item of list.split(',')) {
    const gtid = parseGtid(item);
    if (gtid && gtid.domain === domain) return gtidText(gtid);
  }
  return '';
}

/** A stream's lineage: the source's server id and the GTID domain it writes in. */
export const lineageOf = (serverId: number, domain: number) => `mariadb:${serverId}:${domain}`;

export function domainOfLineage(lineage: string): number {
  const match = /^mariadb:\d+:(\d+)$/.exec(lineage);
  if (!match)
    throw new Error(`mariadb: ${lineage} is not a MariaDB stream lineage (mariadb:<server_id>:<domain>)`);
  return Number(match[1]);
}
