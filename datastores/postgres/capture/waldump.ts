/**
 * What a WAL segment file holds, read with pg_waldump: the end of its last whole record
 * (what is durable in a `.partial`: never its size, segments being zero-padded to 16 MB)
 * and its COMMIT records' timestamps (the marks a time resolves by). pg_waldump's output
 * is read line by line: memory stays flat whatever the segment holds.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { pgProgram } from './tools';
import { lsnToOffset, offsetToLsn, recordEnd } from './wal';

export interface CommitMark {
  /** The commit's time, µs as the server wrote it (ISO, UTC). */
  time: string;
  /** The commit record's start: a recovery_target_lsn there replays it (inclusive). */
  offset: number;
  position: string;
}

export interface SegmentScan {
  /** Start of the last whole record, where a later scan of a growing file resumes. */
  lastRecord?: number;
  /** End of the last whole record (EndRecPtr). */
  end?: number;
  commits: CommitMark[];
}

const RECORD =
  /^rmgr: (\S+)\s+len \(rec\/tot\):\s*\d+\/\s*(\d+), tx:\s*\d+, lsn: ([0-9A-F]+\/[0-9A-F]+), prev [0-9A-F]+\/[0-9A-F]+, desc: (.*)$/;
const COMMIT = /^COMMIT (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?) UTC/;

/**
 * Scans the segment file at `file` (named `segmentName` without `.partial`), from the
 * record at `from` (a previous scan's lastRecord) or from its first record.
 */
export async function scanSegment(
  file: string,
  segmentName: string,
  from?: number,
  major?: number,
): Promise<SegmentScan> {
  // pg_waldump reads only files named as segments, and follows on into the next one it
  // finds: a directory holding just this one, under its plain name, keeps it to the file.
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lazarus-waldump-'));
  try {
    await fs.symlink(path.resolve(file), path.join(dir, segmentName));
    const args = [...(from !== undefined ? ['-s', offsetToLsn(from)] : []), path.join(dir, segmentName)];
    return await readRecords(args, major);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function readRecords(args: string[], major?: number): Promise<SegmentScan> {
  // TZ=UTC: pg_waldump prints commit times in its own zone.
  const child = spawn(pgProgram('pg_waldump', major), args, {
    env: { ...process.env, TZ: 'UTC' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.resume();
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', () => resolve());
  });
  const scan: SegmentScan = { commits: [] };
  for await (const line of readline.createInterface({ input: child.stdout, crlfDelay: Infinity })) {
    addRecord(scan, line);
  }
  await exited;
  // It always stops with an error (the zeros after the last record, or the next segment
  // missing): that is the end of what the file holds, not a failure. A file with no
  // whole record yet (a fresh .partial) yields no end: nothing in it is counted durable.
  return scan;
}

function addRecord(scan: SegmentScan, line: string): void {
  const record = RECORD.exec(line);
  if (!record) return;
  const [, rmgr, totalLength, lsn, desc] = record;
  const start = lsnToOffset(lsn);
  scan.lastRecord = start;
  scan.end = recordEnd(start, Number(totalLength));
  const commit = rmgr === 'Transaction' ? COMMIT.exec(desc) : null;
  if (commit) scan.commits.push({ time: `${commit[1]}T${commit[2]}Z`, offset: start, position: lsn });
}
