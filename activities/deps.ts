/**
 * What activities are built from. The worker (worker/create-worker.ts) passes the real
 * collaborators; a test passes its own. Plain functions and objects, no framework: each
 * feature's factory takes only the part it uses.
 */
import type { ScheduleClient } from '@temporalio/client';
import type { Cache } from '../datastores/caches/spec';
import type { DatastoreAdapter } from '../datastores/adapter';
import type { CaptureEngine } from '../datastores/capture';
import type { Datastore } from '../model/manifest';
import type { FunctionPlatform } from '../functions/platform';
import type { FunctionSpec } from '../functions/registry';
import type { RepositorySpec } from '../contracts/repository-spec';
import type { OpenOptions, Repository } from '../repository/repository';
import type { runHookOnce } from './hooks';

/** The worker's settings for its activities: what `lazarus worker` flags and tests tune. */
export interface ActivitySettings {
  /** Bytes per second for snapshot and restore streams; undefined: no limit. */
  rateLimit?: number;
  /** Where group snapshot points are copied aside (directories, SQLite); default: the system's tmp. */
  scratchDir?: string;
  /** A snapshot or restore stream whose source sends nothing for this long fails its attempt; default 2 min. */
  stallTimeoutMs?: number;
  /** How repositories are opened: retries (default about 90 s, for a minute of S3 trouble), pack size. */
  repository?: Pick<OpenOptions, 'resilience' | 'packSize'>;
}

/** The collaborators that do the I/O, with the settings. */
export interface ActivityDeps extends ActivitySettings {
  /** The adapter registry: the I/O adapter of a datastore's kind. */
  adapterFor<D extends Datastore>(store: D): DatastoreAdapter<D>;
  /** The capture engine of a datastore's kind (continuous capture); none for kinds without a log. */
  captureEngineFor<D extends Datastore>(store: D): CaptureEngine<D> | undefined;
  /** The platform registry: the I/O of a function's platform (functions/platforms.ts). */
  platformFor<F extends FunctionSpec>(fn: F): FunctionPlatform<F>;
  /** Opens a repository (`create`: initialises a missing one); called once per repository and worker. */
  openRepository(spec: RepositorySpec, options: OpenOptions): Promise<Repository>;
  /** Empties a cache (memcached, Redis) after the stores it fronts were restored. */
  flushCache(cache: Cache): Promise<void>;
  /** Runs a user's command or HTTP hook once; its failure is a result. */
  runHookOnce: typeof runHookOnce;
  /** The schedules of the Temporal cluster, as seen from the activity running now. */
  schedules(): ScheduleClient;
}

/** Repositories opened once per repository and worker process (their index and codec workers). */
export interface Repositories {
  /** Only `create` (a backup's first step) initialises a missing repository. */
  open(spec: RepositorySpec, create?: boolean): Promise<Repository>;
}

/** What a feature's factory is given: the collaborators, with repositories opened through the cache. */
export interface FeatureDeps extends Omit<ActivityDeps, 'openRepository'> {
  repositories: Repositories;
}
