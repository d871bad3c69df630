/**
 * Continuous capture's records: the log points, the bases and the log files a stream keeps
 * in the repository. Plain data: the capture engines write them, the timeline
 * (model/timeline.ts) reads them, workflows carry points (never log bytes).
 *
 * A position is the engine's own text; `offset` is a number that grows with every byte of
 * log within one lineage, so generic code compares and subtracts offsets and never parses
 * positions.
 */
import type { SnapshotRef } from './snapshot-ref';

/** Where a log stands. */
export interface LogPoint {
  /** The engine's own notation: an LSN, a GTID (with binlog file:pos), a replication offset. */
  position: string;
  /** Grows with every byte of log within a lineage; comparable, subtractable. */
  offset: number;
  /** ISO time of the change at this point, when known. */
  time?: string;
}

/** How exact a log's timestamps are: the engine's own to the µs, whole seconds, or when Lazarus received it. */
export type TimeQuality = 'exact' | 'second' | 'receipt';

/** A time inside a log file and where it falls: what resolves a target time to a position. */
export interface LogMark {
  time: string;
  offset: number;
  position: string;
}

/**
 * One file of captured log, as the engine's tool wrote it (a WAL segment or its `.partial`,
 * a binlog file, a piece of replication stream).
 */
export interface LogFile {
  /** The file's name in the spool and in the repository: stable across sessions. */
  name: string;
  /** Complete: the tool moved on to the next file and will not write this one again. */
  sealed: boolean;
  lineage: string;
  /** The log this file covers: [start, end), end being what is durable in it now. */
  start: LogPoint;
  end: LogPoint;
  /** Times inside the file, oldest first. */
  marks: LogMark[];
  timeQuality: TimeQuality;
  /** A lineage that begins with this file continues another one from an offset (a PostgreSQL timeline). */
  forkedFrom?: { lineage: string; offset: number };
  /** A file that is not log but belongs with it (a timeline's .history): restored beside the log. */
  auxiliary?: boolean;
}

/** A log file as the repository keeps it: its bytes, and when it was last known complete. */
export interface LogRecord extends Omit<LogFile, 'marks'> {
  snapshot: SnapshotRef;
  /** The marks, as JSON lines, stored like the log (they can be many). */
  marks: SnapshotRef;
  /** The first and last mark's times (the record keeps only these two). */
  firstTime?: string;
  lastTime?: string;
  /**
   * When Lazarus last saw everything up to `end` durable here. A stream idle since is still
   * restorable up to this instant: nothing was written in between.
   */
  durableAt: string;
}

/** A base backup a stream's log rolls forward from. */
export interface BaseRecord {
  id: string;
  snapshot: SnapshotRef;
  lineage: string;
  /** The log from `start` to `end` must be replayed before the base is consistent. */
  start: LogPoint;
  end: LogPoint;
  takenAt: string;
  /** When the base became consistent: the earliest time a restore from it can reach. */
  consistentAt: string;
}

/** One group checkpoint: every member's position at the same instant. */
export interface CheckpointRecord {
  group: string;
  name: string;
  /** When the marks were taken (the middle of the calls), and their spread: the skew. */
  at: string;
  skewMs: number;
  /** The group's pause hook held writes: an exact cut, not one within the skew. */
  paused: boolean;
  members: Record<string, LogPoint & { lineage: string }>;
}
