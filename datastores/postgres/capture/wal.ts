/**
 * WAL arithmetic: LSNs as numbers (the LogPoint offset), segment file names, lineages.
 * Offsets are LSNs, which keep counting across timelines: within one lineage
 * (`<system_identifier>/<timeline>`) they grow with every byte of WAL.
 */
import type { LogPoint } from '../../capture';

/** The only segment size supported (initdb's default); preflight says so when a server differs. */
export const SEGMENT_SIZE = 16 * 1024 * 1024;
const PAGE_SIZE = 8192;
/** A page header (MAXALIGNed): the long one opens each segment. */
const SHORT_PAGE_HEADER = 24;
const LONG_PAGE_HEADER = 40;
const SEGMENTS_PER_XLOGID = 0x1_0000_0000 / SEGMENT_SIZE;

/** `16/B374D848` as a number (exact below 2^53, i.e. 8 PiB of WAL). */
export function lsnToOffset(lsn: string): number {
  const match = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i.exec(lsn.trim());
  if (!match) throw new Error(`not a PostgreSQL LSN: "${lsn}" (expected e.g. 0/3000060)`);
  return parseInt(match[1], 16) * 0x1_0000_0000 + parseInt(match[2], 16);
}

export function offsetToLsn(offset: number): string {
  const high = Math.floor(offset / 0x1_0000_0000);
  const low = offset % 0x1_0000_0000;
  return `${high.toString(16).toUpperCase()}/${low.toString(16).toUpperCase()}`;
}

export function pointAt(offset: number, time?: string): LogPoint {
  return time ? { position: offsetToLsn(offset), offset, time } : { position: offsetToLsn(offset), offset };
}

export const lineageOf = (systemId: string, timeline: number) => `${systemId}/${timeline}`;

export function parseLineage(lineage: string): { systemId: string; timeline: number } {
  const match = /^(\d+)\/(\d+)$/.exec(lineage);
  if (!match)
    throw new Error(`not a PostgreSQL lineage: "${lineage}" (expected <system_identifier>/<timeline>)`);
  return { systemId: match[1], timeline: Number(match[2]) };
}

/** A WAL segment file (`000000010000000000000003`, maybe `.partial`) or a timeline history file. */
export type WalFileName =
  | { type: 'segment'; name: string; timeline: number; segment: number; partial: boolean }
  | { type: 'history'; name: string; timeline: number };

export function parseWalFileName(name: string): WalFileName | undefined {
  const segment = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})(\.partial)?$/.exec(name);
  if (segment) {
    const [, tli, high, low, partial] = segment;
    return {
      type: 'segment',
      name,
      timeline: parseInt(tli, 16),
      segment: parseInt(high, 16) * SEGMENTS_PER_XLOGID + parseInt(low, 16),
      partial: partial !== undefined,
    };
  }
  const history = /^([0-9A-F]{8})\.history$/.exec(name);
  return history ? { type: 'history', name, timeline: parseInt(history[1], 16) } : undefined;
}

export function segmentFileName(timeline: number, segment: number, partial = false): string {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  const name =
    hex(timeline) + hex(Math.floor(segment / SEGMENTS_PER_XLOGID)) + hex(segment % SEGMENTS_PER_XLOGID);
  return partial ? `${name}.partial` : name;
}

export const segmentOf = (offset: number) => Math.floor(offset / SEGMENT_SIZE);
export const segmentStart = (segment: number) => segment * SEGMENT_SIZE;

/**
 * Where a record that starts at `start` and is `length` bytes long ends, as the server
 * counts it (its EndRecPtr): page headers in between included, MAXALIGNed.
 */
export function recordEnd(start: number, length: number): number {
  let position = start;
  let left = length;
  while (left > 0) {
    const inPage = position % PAGE_SIZE;
    if (inPage === 0) {
      position += position % SEGMENT_SIZE === 0 ? LONG_PAGE_HEADER : SHORT_PAGE_HEADER;
      continue;
    }
    const taken = Math.min(PAGE_SIZE - inPage, left);
    position += taken;
    left -= taken;
  }
  return Math.ceil(position / 8) * 8;
}

/** A timeline history file's lines: each parent timeline and the LSN where it was left. */
export function parseHistory(text: string): Array<{ timeline: number; switchpoint: number }> {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [tli, lsn] = line.split(/\s+/);
      return { timeline: Number(tli), switchpoint: lsnToOffset(lsn) };
    });
}
