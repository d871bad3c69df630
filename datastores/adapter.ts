import type { Readable } from 'node:stream';
import type { Datastore, DatastoreKind } from '../model/manifest';

export interface AdapterContext {
  /**
   * Names this run's staging area (a temporary database, file or directory). The same
   * run and service always get the same ID, so a retried attempt finds and replaces
   * what an earlier, interrupted attempt left behind.
   */
  stagingId: string;
  signal: AbortSignal;
}

/** Bounds a consistency group's freeze: a lock or pause taken for it lapses on its own. */
export interface FreezeContext extends AdapterContext {
  /** When the freeze must be over (epoch ms): waits for a lock give up by then. */
  deadline: number;
  /** How long a pause lasts unless renewed: a dead worker's freeze lapses after it. */
  leaseMs: number;
  /** A directory for files that hold a snapshot point until it is streamed. */
  scratchDir: string;
}

/** Writes held still on a store, until released (or until the lease lapses). */
export interface WriteFreeze {
  release(): Promise<void>;
  /** Extends the lease; called while the freeze is held. */
  renew?(): Promise<void>;
}

/**
 * A store's data as of one moment, established while the group is frozen and read out
 * after the freeze is released. Holds what keeps that moment (a transaction, a fork's
 * file) until it is streamed or closed.
 */
export interface SnapshotPoint {
  /** Where the store stood: an LSN, a GTID or binlog position, a replication offset. */
  position?: string;
  /** The snapshot, as of the point; streaming it to the end closes the point. */
  open(): Promise<Readable>;
  /** Releases the point without streaming it; harmless after the stream ended. */
  close(): Promise<void>;
}

/** The one interface every kind of datastore implements, in a file of its own. */
export interface DatastoreAdapter<D extends Datastore = Datastore> {
  readonly kind: D['kind'];
  /** A consistent snapshot of the store, as a stream that fails if the dump fails. */
  snapshot(store: D, ctx: AdapterContext): Promise<Readable>;
  /**
   * Where the store's log stands now (a WAL LSN, a binlog position, a replication offset),
   * recorded with each snapshot so that the next backup can tell how much was written.
   */
  logPosition?(store: D): Promise<string | undefined>;
  /** Stops writes with the store's own means, for a consistency group; none for some kinds. */
  freezeWrites?(store: D, ctx: FreezeContext): Promise<WriteFreeze>;
  /** Establishes the moment a group snapshot is of; called while the group is frozen. */
  snapshotPoint(store: D, ctx: FreezeContext): Promise<SnapshotPoint>;
  /**
   * Restores a snapshot into the store: written to a staging area first and swapped in
   * at the end, so a failure or cancellation before the swap leaves the target untouched.
   */
  restore(store: D, data: Readable, ctx: AdapterContext): Promise<void>;
  /**
   * A SHA-256 of the store's logical content (rows, keys, files), independent of how it is
   * laid out on disk: equal fingerprints mean equal data.
   */
  fingerprint(store: D): Promise<string>;
  /**
   * Whether the store holds anything (a file, an entry, a table, a key): a restore's
   * --target that does is not replaced unless the user asked for it.
   */
  holdsData(store: D): Promise<boolean>;
  /** Removes the store entirely: only ever called on a drill's sandbox copy. */
  drop(store: D): Promise<void>;
  /**
   * Rows in a table (SQL), keys matching a pattern (Redis), documents in a collection
   * (MongoDB), messages in a stream (NATS), objects under a key prefix (S3): for drill validators.
   */
  count?(store: D, what: string): Promise<number>;
  /** The first row a query returns, for drill validators (SQL stores). */
  firstRow?(store: D, sql: string): Promise<unknown[] | undefined>;
  /**
   * The first document a find filter (MongoDB Extended JSON) matches in a collection, as
   * relaxed Extended JSON, for drill validators (document stores).
   */
  firstDocument?(
    store: D,
    query: { collection: string; filter: Record<string, unknown> },
  ): Promise<Record<string, unknown> | undefined>;
  /** Removes the staging area a failed or cancelled restore left; the target is not touched. */
  discard(store: D, ctx: AdapterContext): Promise<void>;
  /** The same store pointed at another target (a path, database name or index), for a mapped restore. */
  retarget(store: D, target: string): D;
  /** Where the data lives, for messages: a path, `host:port/db`. */
  describe(store: D): string;
}

export type AdapterFor<K extends DatastoreKind> = DatastoreAdapter<Extract<Datastore, { kind: K }>>;
