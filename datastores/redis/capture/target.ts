/**
 * Where a replay stops: the captured files chained from the base's offset (continuous,
 * one lineage), and a target resolved to an offset between commands and outside any
 * MULTI/EXEC. Time uses the receipt marks: the newest point received at or before T.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { LogFile, ReplayTarget } from '../../capture';
import type { Piece } from './feeder';
import { MARK_CHANNEL } from './head';
import type { RdbPoint } from './rdb';
import { RespReader, commandWords } from './resp';

export interface Chain {
  base: RdbPoint;
  /** Each file's bytes after the base, through its durable end. */
  segments: Array<{ file: LogFile; path: string; from: number; to: number }>;
  /** The offset the chain reaches: contiguous log ends there. */
  end: number;
  /** Set when the chain stops at a hole before the last file. */
  gapAt?: number;
  marks: LogFile['marks'];
}

export interface Cut {
  offset: number;
  time?: string;
}

export function chainFrom(base: RdbPoint, logs: LogFile[], logDir: string): Chain {
  const files = logs
    .filter((file) => file.lineage === base.replid)
    .sort((a, b) => a.start.offset - b.start.offset);
  const chain: Chain = { base, segments: [], end: base.offset, marks: [] };
  for (const file of files) {
    if (file.end.offset <= chain.end) continue;
    if (file.start.offset > chain.end) {
      chain.gapAt = chain.end;
      break;
    }
    const from = chain.end - file.start.offset;
    chain.segments.push({
      file,
      path: path.join(logDir, file.name),
      from,
      to: file.end.offset - file.start.offset,
    });
    chain.end = file.end.offset;
  }
  chain.marks = chain.segments
    .flatMap(({ file }) => file.marks)
    .filter((mark) => mark.offset >= base.offset && mark.offset <= chain.end)
    .sort((a, b) => a.offset - b.offset);
  return chain;
}

/** The bytes to send for a replay to `cut`. */
export function piecesTo(chain: Chain, cut: number): Piece[] {
  return chain.segments.map(({ file, path: file_, from, to }) => ({
    file: file_,
    from,
    to: Math.min(to, cut - file.start.offset),
  }));
}

export async function resolveCut(chain: Chain, target: ReplayTarget): Promise<Cut> {
  switch (target.kind) {
    case 'latest': {
      const last = chain.marks[chain.marks.length - 1];
      return last ? { offset: last.offset, time: last.time } : { offset: chain.base.offset };
    }
    case 'time':
      return cutAtTime(chain, target.time);
    case 'position':
      return cutAtPosition(chain, target.offset);
    case 'name':
      return cutAtName(chain, target.name);
  }
}

function cutAtTime(chain: Chain, time: string): Cut {
  const at = Date.parse(time);
  if (Number.isNaN(at)) throw new Error(`redis: replay target time "${time}" is not a date`);
  if (chain.base.createdMs !== undefined && at < chain.base.createdMs) {
    throw new Error(
      `redis: ${time} is before the base (made ${new Date(chain.base.createdMs).toISOString()}): choose an older base`,
    );
  }
  const last = chain.marks[chain.marks.length - 1];
  if (!last || Date.parse(last.time) < at) {
    throw new Error(
      `redis: ${time} is past the captured log: the newest restorable time is ${last?.time ?? 'the base itself'} ` +
        `(offset ${last?.offset ?? chain.base.offset})${gapNote(chain)}`,
    );
  }
  const before = chain.marks.filter((mark) => Date.parse(mark.time) <= at).pop();
  return before ? { offset: before.offset, time: before.time } : { offset: chain.base.offset };
}

async function cutAtPosition(chain: Chain, offset: number): Promise<Cut> {
  if (offset < chain.base.offset || offset > chain.end) {
    throw new Error(
      `redis: position ${offset} is outside the captured log, which runs from the base's ${chain.base.offset} to ${chain.end}${gapNote(chain)}`,
    );
  }
  const marked = chain.marks.find((mark) => mark.offset === offset);
  if (marked || offset === chain.base.offset) return { offset, time: marked?.time };
  let before = chain.base.offset;
  let after: number | undefined;
  await scan(chain, (_words, end, safe) => {
    if (!safe) return false;
    if (end <= offset) before = end;
    else after = end;
    return end >= offset;
  });
  if (before === offset) return { offset };
  throw new Error(
    `redis: position ${offset} is inside a command or a MULTI/EXEC; the nearest points a replay can stop at are ${before}` +
      (after === undefined ? '' : ` and ${after}`),
  );
}

async function cutAtName(chain: Chain, name: string): Promise<Cut> {
  let found: string | undefined;
  let cut: number | undefined;
  await scan(chain, (words, end, safe) => {
    const [markName, serverTime] = words[2]?.split(' ') ?? [];
    if (!found && words[0] === 'PUBLISH' && words[1] === MARK_CHANNEL && markName === name)
      found = serverTime;
    if (found && safe) cut = end;
    return cut !== undefined;
  });
  if (cut === undefined) {
    throw new Error(
      `redis: no mark named "${name}" in the captured log from the base's offset ${chain.base.offset} to ${chain.end}${gapNote(chain)}`,
    );
  }
  // The mark carries the server's clock at the PUBLISH: an exact time, unlike receipt marks.
  return { offset: cut, time: new Date(Number(found) * 1000).toISOString() };
}

/** Reads the chain's commands until `visit` says stop; `safe`: the end is outside MULTI/EXEC. */
async function scan(
  chain: Chain,
  visit: (words: string[], end: number, safe: boolean) => boolean,
): Promise<void> {
  const reader = new RespReader();
  let inTransaction = false;
  let stop = false;
  for (const segment of chain.segments) {
    if (segment.to <= segment.from) continue;
    for await (const bytes of createReadStream(segment.path, { start: segment.from, end: segment.to - 1 })) {
      reader.feed(bytes as Buffer, (value, end) => {
        if (stop) return;
        const words = commandWords(value);
        if (words[0] === 'MULTI') inTransaction = true;
        if (words[0] === 'EXEC' || words[0] === 'DISCARD') inTransaction = false;
        stop = visit(words, chain.base.offset + end, !inTransaction);
      });
      if (stop) return;
    }
  }
}

function gapNote(chain: Chain): string {
  return chain.gapAt === undefined ? '' : `; the log has a gap after offset ${chain.gapAt}`;
}
