/**
 * The spool: the directory pg_receivewal streams into. Listing it as LogFiles (what is
 * durable in each, its commit times), and arranging it before a session so that
 * pg_receivewal, which picks its start from the newest segment it finds there, starts
 * exactly where the previous session's durable point lies, on the server's history.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { LogFile, LogPoint } from '../../capture';
import { scanSegment, type SegmentScan } from './waldump';
import {
  SEGMENT_SIZE,
  lineageOf,
  parseHistory,
  parseLineage,
  parseWalFileName,
  pointAt,
  segmentFileName,
  segmentOf,
  segmentStart,
  type WalFileName,
} from './wal';

/** Where files of a branch the server left (a timeline it forked from) are set aside. */
export const SUPERSEDED_DIR = '.superseded';
/** The system identifier the spool's files belong to. */
const SYSTEM_FILE = '.lazarus-system';

type Segment = Extract<WalFileName, { type: 'segment' }>;

async function walFiles(spool: string): Promise<WalFileName[]> {
  const names = await fs.readdir(spool).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  return names.map(parseWalFileName).filter((f): f is WalFileName => f !== undefined);
}

const bySegment = (a: Segment, b: Segment) =>
  a.segment - b.segment || a.timeline - b.timeline || Number(b.partial) - Number(a.partial);

/**
 * Lists the spool's files with what is durable in each; keeps what it learnt of each
 * segment (a growing .partial is read on from its last record, a sealed one once).
 */
export class SpoolIndex {
  private scans = new Map<string, SegmentScan & { complete: boolean }>();

  constructor(
    private readonly spool: string,
    private readonly systemId: string,
    private readonly major?: number,
  ) {}

  async files(): Promise<LogFile[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.list();
      } catch (err) {
        // A .partial renamed as it sealed, between the listing and its reading: list again.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw err;
      }
    }
  }

  private async list(): Promise<LogFile[]> {
    const found = await walFiles(this.spool);
    const segments = found.filter((f): f is Segment => f.type === 'segment').sort(bySegment);
    const listed: LogFile[] = [];
    for (const history of found.filter((f) => f.type === 'history'))
      listed.push(await this.historyFile(history));
    for (const segment of segments) listed.push(await this.segmentFile(segment));
    const plainNames = new Set(segments.map((s) => segmentFileName(s.timeline, s.segment)));
    for (const name of this.scans.keys()) if (!plainNames.has(name)) this.scans.delete(name);
    return listed.sort((a, b) => a.start.offset - b.start.offset || kindOrder(a) - kindOrder(b));
  }

  private async segmentFile(file: Segment): Promise<LogFile> {
    const plain = segmentFileName(file.timeline, file.segment);
    const scan = await this.scan(file, plain);
    const start = segmentStart(file.segment);
    const lastCommit = scan.commits.at(-1)?.time;
    // A sealed segment covers all of itself (a switch fills the rest); a .partial only
    // as far as its last whole record.
    const end = file.partial ? (scan.end ?? start) : start + SEGMENT_SIZE;
    return {
      name: file.name,
      sealed: !file.partial,
      lineage: lineageOf(this.systemId, file.timeline),
      start: pointAt(start),
      end: pointAt(end, lastCommit),
      marks: scan.commits.map((c) => ({ ...c })),
      timeQuality: 'exact',
    };
  }

  private async scan(file: Segment, plain: string): Promise<SegmentScan> {
    const known = this.scans.get(plain);
    if (known?.complete) return known;
    const more = await scanSegment(path.join(this.spool, file.name), plain, known?.lastRecord, this.major);
    const commits = [
      ...(known?.commits ?? []),
      ...more.commits.filter((c) => c.offset > (known?.lastRecord ?? -1)),
    ];
    const scan = {
      lastRecord: more.lastRecord ?? known?.lastRecord,
      end: more.end ?? known?.end,
      commits,
      complete: !file.partial,
    };
    this.scans.set(plain, scan);
    return scan;
  }

  /** A history file is part of the log (replay needs it to follow a fork), zero bytes long at its fork's segment. */
  private async historyFile(file: WalFileName): Promise<LogFile> {
    const entries = parseHistory(await fs.readFile(path.join(this.spool, file.name), 'utf8'));
    const parent = entries.at(-1);
    const forkedAt = parent?.switchpoint ?? 0;
    const at: LogPoint = pointAt(segmentStart(segmentOf(forkedAt)));
    return {
      name: file.name,
      sealed: true,
      lineage: lineageOf(this.systemId, file.timeline),
      start: at,
      end: at,
      marks: [],
      timeQuality: 'exact',
      // Not log itself: it says where the timeline left its parent, for the generic timeline.
      auxiliary: true,
      ...(parent
        ? { forkedFrom: { lineage: lineageOf(this.systemId, parent.timeline), offset: forkedAt } }
        : {}),
    };
  }
}

const kindOrder = (file: LogFile) => (file.name.endsWith('.history') ? 0 : 1);

/** The server's history: its timeline and, for each ancestor, where it was left. */
export interface ServerHistory {
  systemId: string;
  timeline: number;
  ancestors: Array<{ timeline: number; switchpoint: number }>;
}

/** Whether the WAL of `timeline` at segment `segment` is part of what the server has now. */
function onHistory(history: ServerHistory, timeline: number, segment: number): boolean {
  if (timeline === history.timeline) return true;
  const ancestor = history.ancestors.find((a) => a.timeline === timeline);
  return !!ancestor && segment <= segmentOf(ancestor.switchpoint);
}

/**
 * Where on the server's history a stream durable up to `offset` on `timeline` goes on:
 * there, while that is still the server's history; past an ancestor's switchpoint (a
 * branch the server left, as after a cut-over) at the switchpoint, on the timeline that
 * followed; nowhere on a timeline the server never had.
 */
function resumePoint(
  history: ServerHistory,
  timeline: number,
  offset: number,
): { timeline: number; offset: number } | undefined {
  if (timeline === history.timeline) return { timeline, offset };
  const index = history.ancestors.findIndex((a) => a.timeline === timeline);
  if (index < 0) return undefined;
  const { switchpoint } = history.ancestors[index];
  if (offset <= switchpoint) return { timeline, offset };
  return { timeline: history.ancestors[index + 1]?.timeline ?? history.timeline, offset: switchpoint };
}

/**
 * Makes the spool start pg_receivewal where `resumeFrom` says: files of another cluster
 * or of a branch the server left are set aside (they were captured already); when the
 * newest file left would make it start before the resume point's segment (or there is
 * none: another worker's spool), an empty .partial of that segment is put there (16 MB,
 * as pg_receivewal expects), which it fills from the segment's start.
 */
export async function prepareSpool(
  spool: string,
  history: ServerHistory,
  resumeFrom?: LogPoint & { lineage: string },
): Promise<void> {
  await fs.mkdir(spool, { recursive: true });
  const recordedSystem = await fs
    .readFile(path.join(spool, SYSTEM_FILE), 'utf8')
    .catch(() => history.systemId);
  const segments = (await walFiles(spool)).filter((f): f is Segment => f.type === 'segment');
  const offHistory = segments.filter(
    (f) => recordedSystem.trim() !== history.systemId || !onHistory(history, f.timeline, f.segment),
  );
  await setAside(spool, offHistory);
  await fs.writeFile(path.join(spool, SYSTEM_FILE), history.systemId);
  if (!resumeFrom) return;
  const resumed = parseLineage(resumeFrom.lineage);
  if (resumed.systemId !== history.systemId) return; // another cluster: a new lineage from the head
  const resumeAt = resumePoint(history, resumed.timeline, resumeFrom.offset);
  if (!resumeAt) return; // a timeline the server never had: a new lineage from the head
  const wanted = { timeline: resumeAt.timeline, segment: segmentOf(resumeAt.offset) };
  const kept = segments
    .filter((f) => !offHistory.includes(f))
    .sort(bySegment)
    .at(-1);
  // pg_receivewal goes on in the newest .partial, or after the newest sealed segment.
  const receiverStart = kept && { timeline: kept.timeline, segment: kept.segment + (kept.partial ? 0 : 1) };
  const startsWrong =
    !receiverStart ||
    !onHistory(history, receiverStart.timeline, receiverStart.segment) ||
    receiverStart.segment < wanted.segment ||
    (receiverStart.segment === wanted.segment && receiverStart.timeline < wanted.timeline);
  if (startsWrong)
    await placeholder(path.join(spool, segmentFileName(wanted.timeline, wanted.segment, true)));
}

async function setAside(spool: string, files: Segment[]): Promise<void> {
  if (!files.length) return;
  const dir = path.join(spool, SUPERSEDED_DIR);
  await fs.mkdir(dir, { recursive: true });
  for (const file of files) await fs.rename(path.join(spool, file.name), path.join(dir, file.name));
}

async function placeholder(file: string): Promise<void> {
  const handle = await fs.open(file, 'wx').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EEXIST') return undefined;
    throw err;
  });
  if (!handle) return;
  try {
    await handle.truncate(SEGMENT_SIZE);
  } finally {
    await handle.close();
  }
}
