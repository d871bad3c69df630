/**
 * Continuous capture (point-in-time recovery): the interface a datastore kind implements,
 * in datastores/<kind>/capture/, to have its log streamed into the repository and replayed
 * to a chosen moment. Registered once in datastores/capture-engines.ts. The generic parts
 * (uploading the growing tail, the timeline, choosing a base, the workflow) are written
 * once, over this interface, and know nothing of WAL, binlogs or PSYNC.
 *
 * Positions are the engine's own text ("0/3000060", "0-42-1403", "75102") plus an
 * `offset`: a number that grows with every byte of log within one lineage (an LSN as a
 * number, a binlog file's sequence * 2^32 + its byte position, a replication offset). The
 * generic code compares and subtracts offsets only; it never parses the text.
 */
import type { Readable } from 'node:stream';
import type { LogFile, LogPoint } from '../contracts/streams';
import type { Datastore } from '../model/manifest';

export type { LogFile, LogMark, LogPoint, TimeQuality } from '../contracts/streams';

/** A setting the source lacks for capture, with the exact change that supplies it. */
export interface Requirement {
  /** `wal_level`, `pg_hba.conf`, `log_bin`, `repl-backlog-size`... */
  setting: string;
  found: string;
  needed: string;
  /** What the user runs or edits: "ALTER SYSTEM SET wal_level = replica; then restart". */
  fix: string;
}

/**
 * A base backup: the bytes of a physical or logical copy a log can be rolled forward
 * from (a pg_basebackup tar, a `mariadb-dump --gtid` dump, an RDB).
 */
export interface BaseCopy {
  data: Readable;
  /**
   * Settles after `data` ended: where the copy is consistent from (`end`: a replay
   * must start at or before `start` and reach `end` before the copy is usable).
   */
  done: Promise<{ start: LogPoint; end: LogPoint; lineage: string }>;
}

/**
 * The source cannot continue the log from the durable point (a Redis backlog overrun, a
 * purged binlog, a removed WAL segment): what follows is a gap, and only a new base makes
 * later times restorable. A session that hits it ends; capture starts over at the head.
 */
export class CaptureGapError extends Error {
  override readonly name = 'CaptureGapError';
}

/** A running capture session: the engine's tool streaming into the spool. */
export interface CaptureSession {
  /** The files in the spool now, with what is durable in each; the newest last. */
  files(): Promise<LogFile[]>;
  /** Settles when the tool stops: rejects with the cause when it died or lost the source. */
  readonly ended: Promise<void>;
  /** Stops the tool; the files stay in the spool. */
  stop(): Promise<void>;
}

export interface CaptureOptions {
  /** The session's own directory, kept across the sessions of one worker. */
  spool: string;
  /** The durable point the previous session reached, to resume from; none: start at the head. */
  resumeFrom?: LogPoint & { lineage: string; file?: string };
  /** A name for what the engine keeps on the source for this stream (a replication slot). */
  streamName: string;
  signal: AbortSignal;
}

/** Where a replay stops. */
export type ReplayTarget =
  | { kind: 'time'; time: string }
  | { kind: 'position'; position: string; offset: number }
  | { kind: 'name'; name: string }
  | { kind: 'latest' };

/** A recovered copy of the store, on a scratch server of its own, at the point reached. */
export interface Recovered<D extends Datastore = Datastore> {
  /** The store on the scratch server: read it, dump it, validate it with the ordinary adapter. */
  store: D;
  /** Where the replay actually stopped, read from the recovered server (never a tool's exit code). */
  reached: LogPoint;
  /** Stops the scratch server and removes its files. */
  stop(): Promise<void>;
  /**
   * Where a store-wide restore writes besides `store` (`restore_as: cluster`): each other
   * database of the recovered server, as `retarget` targets; none for kinds that recover one.
   */
  siblings?(): Promise<string[]>;
}

export interface ReplayInput<D extends Datastore> {
  store: D;
  /** A directory of the replay's own, removed by `stop`. */
  workDir: string;
  /**
   * The base's bytes, read from the repository as they are consumed: an engine that can
   * take them as a stream unpacks them while they arrive (nothing is written first).
   */
  openBase(): Readable;
  /** The log files from the base's start through the target, in (or arriving in) this directory. */
  logDir: string;
  /** The files of `logDir`, oldest first. */
  logs: LogFile[];
  /**
   * Set while `logs` are still to arrive (downloaded once the base has been read, oldest
   * first, each renamed into `logDir` whole); it resolves once they all are there or the
   * download has failed (which aborts `signal`). Unset: they all are there already.
   */
  logsArriving?: Promise<void>;
  target: ReplayTarget;
  signal: AbortSignal;
}

/**
 * What a kind with continuous capture implements. Every method is safe to call again after
 * a crash: a session resumes from the durable point; a replay starts over in a fresh workDir.
 */
export interface CaptureEngine<D extends Datastore = Datastore> {
  readonly kind: D['kind'];
  /** The source's settings capture needs, each missing one with its fix; never changes anything. */
  preflight(store: D): Promise<Requirement[]>;
  /** Where the source's log stands now (for RPO: the head against the durable point). */
  head(store: D): Promise<LogPoint & { lineage: string }>;
  /** A base backup a log can be rolled forward from. */
  takeBase(store: D, options: { scratchDir: string; signal: AbortSignal }): Promise<BaseCopy>;
  /** Starts streaming the log into the spool. */
  capture(store: D, options: CaptureOptions): Promise<CaptureSession>;
  /**
   * The base materialised on a scratch server and the logs replayed to the target; checks
   * the point reached and fails when recovery ended short of the target.
   */
  replay(input: ReplayInput<D>): Promise<Recovered<D>>;
  /**
   * Records a point in the log at this instant and returns where it is (a PostgreSQL
   * restore point with its LSN, the MariaDB GTID position, the Redis offset): a group
   * checkpoint calls it on every member at once. `name` is a valid identifier.
   */
  mark(store: D, name: string): Promise<LogPoint & { lineage: string }>;
  /** Removes what `capture` keeps on the source for the stream (a slot); called when capture is stopped for good. */
  release?(store: D, streamName: string): Promise<void>;
}
