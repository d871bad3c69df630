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

/** The one interface every kind of datastore implements, in a file of its own. */
export interface DatastoreAdapter<D extends Datastore = Datastore> {
  readonly kind: D['kind'];
  /** A consistent snapshot of the store, as a stream that fails if the dump fails. */
  snapshot(store: D, ctx: AdapterContext): Promise<Readable>;
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
  /** Removes the staging area a failed or cancelled restore left; the target is not touched. */
  discard(store: D, ctx: AdapterContext): Promise<void>;
  /** The same store pointed at another target (a path, database name or index), for a mapped restore. */
  retarget(store: D, target: string): D;
  /** Where the data lives, for messages: a path, `host:port/db`. */
  describe(store: D): string;
}

export type AdapterFor<K extends DatastoreKind> = DatastoreAdapter<Extract<Datastore, { kind: K }>>;
