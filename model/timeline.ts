/**
 * A captured stream's timeline, computed from its records alone: which intervals can be
 * restored, where the log has holes, where a lineage forks (a PostgreSQL timeline), and,
 * for a target, which base and which log files a replay needs. Pure: the CLI, verify and
 * the restore's first step all call it, so they never disagree about a window.
 */
import type { BaseRecord, LogPoint, LogRecord, TimeQuality } from '../contracts/streams';

/** A span that can be restored to any instant of: from a base's consistent end to the log's durable end. */
export interface RestorableInterval {
  from: string;
  to: string;
  lineage: string;
  base: string;
}

/** Log that is missing between two files of one lineage. */
export interface LogGap {
  lineage: string;
  /** The last file before the hole and where it ends; the first after it and where it starts. */
  after: { file: string; offset: number; time: string };
  before: { file: string; offset: number; time?: string };
  bytes: number;
}

export interface StreamTimeline {
  intervals: RestorableInterval[];
  gaps: LogGap[];
  forks: Array<{ lineage: string; from: { lineage: string; offset: number } }>;
  timeQuality?: TimeQuality;
  /** The newest durable point of the newest lineage, and when it was seen durable. */
  durable?: LogPoint & { lineage: string; at: string };
}

/** What a restore asks for: a time, a log position (a checkpoint's), or the newest point. */
export type StreamTarget =
  | { kind: 'time'; time: string }
  | { kind: 'position'; lineage: string; offset: number; position: string }
  | { kind: 'latest' };

/** The base and log a replay to a target needs, the files oldest first. */
export interface ReplayPlan {
  base: BaseRecord;
  logs: LogRecord[];
  lineage: string;
}

export type PlanOutcome = ReplayPlan | { problem: string };

const ms = (iso: string) => Date.parse(iso);

/**
 * A lineage's files in log order; auxiliary files (timeline histories) left out, and an
 * open file a sealed one covers (a WAL `.partial` once its segment is complete) too.
 */
function filesOf(logs: LogRecord[], lineage: string): LogRecord[] {
  const own = logs.filter((l) => l.lineage === lineage && !l.auxiliary);
  const sealed = own.filter((l) => l.sealed);
  const superseded = (l: LogRecord) =>
    !l.sealed && sealed.some((s) => s.start.offset <= l.start.offset && l.end.offset <= s.end.offset);
  return own.filter((l) => !superseded(l)).sort((a, b) => a.start.offset - b.start.offset);
}

/** The lineages in the order they began: a fork after the lineage it continues. */
function lineagesOf(logs: LogRecord[]): string[] {
  const firstSeen = new Map<string, number>();
  for (const l of logs) {
    const t = ms(l.firstTime ?? l.durableAt);
    firstSeen.set(l.lineage, Math.min(firstSeen.get(l.lineage) ?? Infinity, t));
  }
  return [...firstSeen.keys()].sort((a, b) => firstSeen.get(a)! - firstSeen.get(b)!);
}

/** The files of `lineage` from the one holding `offset` while each starts where the last ended. */
function contiguousFrom(logs: LogRecord[], lineage: string, offset: number): LogRecord[] {
  const files = filesOf(logs, lineage);
  const first = files.findIndex((f) => f.start.offset <= offset && offset <= f.end.offset);
  if (first < 0) return [];
  const run = [files[first]];
  let reached = files[first].end.offset;
  for (const next of files.slice(first + 1)) {
    if (next.start.offset > reached) break;
    run.push(next);
    reached = Math.max(reached, next.end.offset);
  }
  return run;
}

/** Where a lineage forked from, from its files. */
function forkOf(logs: LogRecord[], lineage: string): { lineage: string; offset: number } | undefined {
  return logs.find((l) => l.lineage === lineage && l.forkedFrom)?.forkedFrom;
}

/**
 * The log paths a base can be replayed along: its own lineage's contiguous run, and each
 * fork that leaves that run (a fork's run continues from the fork point).
 */
function pathsOf(base: BaseRecord, logs: LogRecord[]): Array<{ lineage: string; files: LogRecord[] }> {
  const own = contiguousFrom(logs, base.lineage, base.start.offset);
  if (own.length === 0 || own[own.length - 1].end.offset < base.end.offset) return [];
  const paths = [{ lineage: base.lineage, files: own }];
  for (const lineage of lineagesOf(logs)) {
    const fork = forkOf(logs, lineage);
    const parent = fork && paths.find((p) => p.lineage === fork.lineage);
    if (!fork || !parent || fork.offset < base.end.offset) continue;
    if (parent.files[parent.files.length - 1].end.offset < fork.offset) continue;
    const before = parent.files.filter((f) => f.start.offset < fork.offset);
    const after = contiguousFrom(logs, lineage, fork.offset);
    if (after.length > 0) paths.push({ lineage, files: [...before, ...after] });
  }
  return paths;
}

/** When a path's own lineage begins: its first file's first time, for a fork; a base's end, for its own. */
function pathStart(base: BaseRecord, path: { lineage: string; files: LogRecord[] }): string {
  if (path.lineage === base.lineage) return base.consistentAt;
  const own = path.files.filter((f) => f.lineage === path.lineage);
  return own[0].firstTime ?? own[0].durableAt;
}

function gapsOf(logs: LogRecord[]): LogGap[] {
  const gaps: LogGap[] = [];
  for (const lineage of lineagesOf(logs)) {
    const files = filesOf(logs, lineage);
    let prev = files[0];
    for (const next of files.slice(1)) {
      if (next.start.offset > prev.end.offset) {
        gaps.push({
          lineage,
          after: { file: prev.name, offset: prev.end.offset, time: prev.durableAt },
          before: { file: next.name, offset: next.start.offset, time: next.firstTime },
          bytes: next.start.offset - prev.end.offset,
        });
      }
      if (next.end.offset >= prev.end.offset) prev = next;
    }
  }
  return gaps;
}

export function timelineOf(bases: BaseRecord[], logs: LogRecord[]): StreamTimeline {
  const intervals: RestorableInterval[] = [];
  for (const base of bases) {
    for (const path of pathsOf(base, logs)) {
      const last = path.files[path.files.length - 1];
      const from = pathStart(base, path);
      if (ms(last.durableAt) >= ms(from)) {
        intervals.push({ from, to: last.durableAt, lineage: path.lineage, base: base.id });
      }
    }
  }
  intervals.sort((a, b) => ms(a.from) - ms(b.from));
  const lineages = lineagesOf(logs);
  const newest = lineages[lineages.length - 1];
  const newestFiles = newest === undefined ? [] : filesOf(logs, newest);
  const tail = newestFiles[newestFiles.length - 1];
  return {
    intervals,
    gaps: gapsOf(logs),
    forks: lineages.flatMap((lineage) => {
      const from = forkOf(logs, lineage);
      return from ? [{ lineage, from }] : [];
    }),
    timeQuality: tail?.timeQuality,
    durable: tail && { ...tail.end, lineage: tail.lineage, at: tail.durableAt },
  };
}

/** The restorable window in words, for refusals: "09:00:00Z to 09:30:00Z (timeline a)". */
export function describeWindow(timeline: StreamTimeline): string {
  if (timeline.intervals.length === 0) return 'nothing is restorable yet (no base with its log)';
  return merged(timeline.intervals)
    .map((i) => `${i.from} to ${i.to}`)
    .join(', ');
}

/** Intervals joined where they overlap (several bases, one log). */
export function merged(intervals: RestorableInterval[]): Array<{ from: string; to: string }> {
  const out: Array<{ from: string; to: string }> = [];
  for (const i of [...intervals].sort((a, b) => ms(a.from) - ms(b.from))) {
    const last = out[out.length - 1];
    if (last && ms(i.from) <= ms(last.to)) last.to = ms(i.to) > ms(last.to) ? i.to : last.to;
    else out.push({ from: i.from, to: i.to });
  }
  return out;
}

/** The files a replay to `untilMs` needs: through the first one durable past it, and one more. */
function filesUntil(files: LogRecord[], untilMs: number): LogRecord[] {
  const covering = files.findIndex((f) => ms(f.durableAt) >= untilMs);
  return covering < 0 ? files : files.slice(0, covering + 2);
}

/** The auxiliary files (timeline histories) of the lineages a path crosses. */
function auxiliaryOf(logs: LogRecord[], path: LogRecord[]): LogRecord[] {
  const lineages = new Set(path.map((f) => f.lineage));
  return logs.filter((l) => l.auxiliary && lineages.has(l.lineage));
}

/**
 * The base and log to replay to a target, or why there is none: before the oldest
 * restorable point, in the future, in a gap. Decided from records only, before any replay.
 */
export function planReplay(bases: BaseRecord[], logs: LogRecord[], target: StreamTarget): PlanOutcome {
  const timeline = timelineOf(bases, logs);
  const window = describeWindow(timeline);
  if (timeline.intervals.length === 0) return { problem: `${window}` };
  if (target.kind === 'latest') return planLatest(bases, logs, timeline);
  if (target.kind === 'position') return planPosition(bases, logs, target, window);
  const t = ms(target.time);
  if (Number.isNaN(t)) return { problem: `"${target.time}" is not a time; write an ISO time` };
  const fits = timeline.intervals
    .filter((i) => ms(i.from) <= t && t <= ms(i.to))
    .sort((a, b) => lineageRank(logs, b.lineage) - lineageRank(logs, a.lineage) || ms(b.from) - ms(a.from));
  if (fits.length === 0) return { problem: refusal(target.time, timeline, window) };
  const chosen = fits[0];
  const base = bases.find((b) => b.id === chosen.base)!;
  const path = pathsOf(base, logs).find((p) => p.lineage === chosen.lineage)!;
  const files = filesUntil(path.files, t);
  return { base, lineage: chosen.lineage, logs: [...auxiliaryOf(logs, files), ...files] };
}

function lineageRank(logs: LogRecord[], lineage: string): number {
  return lineagesOf(logs).indexOf(lineage);
}

function refusal(time: string, timeline: StreamTimeline, window: string): string {
  const t = ms(time);
  const all = merged(timeline.intervals);
  if (t < ms(all[0].from)) return `${time} is before the oldest restorable point; restorable: ${window}`;
  if (timeline.durable && t > ms(timeline.durable.at)) {
    return `${time} is after the newest durable point of the log (${timeline.durable.at}); restorable: ${window}`;
  }
  const gap = [...timeline.gaps].reverse().find((g) => ms(g.after.time) < t);
  const hole = gap
    ? `: the log has a gap after ${gap.after.file} (${gap.bytes} bytes missing, from ${gap.after.time})`
    : '';
  return `${time} falls outside every restorable interval${hole}; restorable: ${window}`;
}

function planLatest(bases: BaseRecord[], logs: LogRecord[], timeline: StreamTimeline): PlanOutcome {
  const newest = [...timeline.intervals].sort(
    (a, b) => lineageRank(logs, b.lineage) - lineageRank(logs, a.lineage) || ms(b.to) - ms(a.to),
  )[0];
  const beyond = timeline.durable && ms(timeline.durable.at) > ms(newest.to);
  if (beyond) {
    return {
      problem: `the log has a gap: the newest restorable point is ${newest.to}, but log was captured until ${timeline.durable!.at}; restore --at ${newest.to}, or take a new base`,
    };
  }
  const base = bases.find((b) => b.id === newest.base)!;
  const path = pathsOf(base, logs).find((p) => p.lineage === newest.lineage)!;
  return { base, lineage: newest.lineage, logs: [...auxiliaryOf(logs, path.files), ...path.files] };
}

function planPosition(
  bases: BaseRecord[],
  logs: LogRecord[],
  target: Extract<StreamTarget, { kind: 'position' }>,
  window: string,
): PlanOutcome {
  const candidates = bases
    .filter((b) => b.end.offset <= target.offset)
    .sort((a, b) => b.end.offset - a.end.offset);
  for (const base of candidates) {
    const path = pathsOf(base, logs).find((p) => p.lineage === target.lineage);
    if (!path || path.files[path.files.length - 1].end.offset < target.offset) continue;
    const through = path.files.findIndex((f) => f.end.offset >= target.offset);
    const files = path.files.slice(0, through + 2);
    return { base, lineage: target.lineage, logs: [...auxiliaryOf(logs, files), ...files] };
  }
  return {
    problem: `position ${target.position} (${target.lineage}) is not covered by a base and an unbroken log; restorable: ${window}`,
  };
}

/** What a stream's retention removes: bases no longer needed for the window, and the log only they needed. */
export interface StreamRetentionPlan {
  removeBases: BaseRecord[];
  removeLogs: LogRecord[];
  /** The oldest instant still restorable afterwards. */
  restorableFrom?: string;
}

/**
 * Keeps every instant of the last `windowMs` restorable: the newest base that is consistent
 * at or before the window's start, every newer base, and every log file on one of their
 * paths (a log is never expired while a kept base needs it). Older bases go with the log
 * files only they needed; a file newer than the window's start is always kept.
 */
export function streamRetention(
  bases: BaseRecord[],
  logs: LogRecord[],
  windowMs: number,
  nowMs: number,
): StreamRetentionPlan {
  const cutoff = nowMs - windowMs;
  const usable = bases.filter((b) => pathsOf(b, logs).length > 0);
  const sorted = [...usable].sort((a, b) => ms(a.consistentAt) - ms(b.consistentAt));
  const anchor = sorted.filter((b) => ms(b.consistentAt) <= cutoff).at(-1);
  const kept = sorted.filter((b) => b === anchor || ms(b.consistentAt) > cutoff);
  // A base that cannot be used (its log not captured yet) is kept while it is new.
  const unusable = bases.filter((b) => !usable.includes(b) && ms(b.takenAt) > cutoff);
  const keptBases = new Set([...kept, ...unusable]);
  const needed = new Set<LogRecord>();
  for (const base of kept) for (const path of pathsOf(base, logs)) path.files.forEach((f) => needed.add(f));
  const removeLogs = logs.filter((l) => {
    if (needed.has(l) || ms(l.durableAt) > cutoff) return false;
    // A history file stays while a kept path crosses its lineage.
    return !(l.auxiliary && [...needed].some((f) => f.lineage === l.lineage));
  });
  const after = timelineOf(
    [...keptBases],
    logs.filter((l) => !removeLogs.includes(l)),
  );
  return {
    removeBases: bases.filter((b) => !keptBases.has(b)),
    removeLogs,
    restorableFrom: merged(after.intervals)[0]?.from,
  };
}

/**
 * The RPO now: how far the durable point trails the source's head, in bytes, and in
 * seconds since the durable point was last seen complete (0 when it is the head).
 * Undefined when the head is on another lineage (there is nothing to subtract).
 */
export function lagBehind(
  durable: StreamTimeline['durable'],
  head: (LogPoint & { lineage: string }) | undefined,
  nowMs: number,
): { bytes: number; seconds: number } | undefined {
  if (!durable || !head || head.lineage !== durable.lineage) return undefined;
  const bytes = Math.max(0, head.offset - durable.offset);
  return { bytes, seconds: bytes === 0 ? 0 : Math.max(0, (nowMs - Date.parse(durable.at)) / 1000) };
}
