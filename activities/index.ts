/**
 * Activities: the only place where Lazarus touches datastores and the repository.
 * Each is idempotent (content-addressed writes, staging areas named per run and
 * service), heartbeats with progress, and stops cleanly when cancelled.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { UserError } from '../model/errors';
import type { Readable } from 'node:stream';
import { pipeline as chain } from 'node:stream';
import { adapterFor } from '../datastores/adapters';
import os from 'node:os';
import path from 'node:path';
import type { Datastore, Hook } from '../model/manifest';
import { establishPoints, type FreezePlan, type FreezeTimes } from './group-snapshot';
import { type HookContext, type HookResult, runHookOnce } from './hooks';
import {
  removeSandboxRoot,
  runValidators,
  tearDownCopy,
  type ValidateInput,
  type ValidationResult,
} from './drill';
import { BackupEntry, SnapshotRef } from '../repository/records/catalog';
import type { RepositorySpec } from '../contracts/repository-spec';
import type { VerifyReport } from '../repository/maintenance/verify';
import { acquireLock, releaseLock, whileLocked } from '../repository/records/locks';
import { MissingRepositoryError } from '../repository/engine/format';
import { type OpenOptions, Repository } from '../repository/repository';
import { withChanges } from '../repository/maintenance/change-rate';
import { adaptiveActivities } from './adaptive';
import { DEFAULT_STALL_TIMEOUT_MS, byteCounter, rateLimiter, stallGuard } from '../repository/engine/streams';
import { RepositoryError } from '../repository/storage/retry';

export interface ActivityDeps {
  /** Bytes per second for snapshot and restore streams; undefined: no limit. */
  rateLimit?: number;
  /** Where group snapshot points are copied aside (directories, SQLite); default: the system's tmp. */
  scratchDir?: string;
  /** A snapshot or restore stream whose source sends nothing for this long fails its attempt; default 2 min. */
  stallTimeoutMs?: number;
  /** How repositories are opened: retries (default about 90 s, for a minute of S3 trouble), pack size. */
  repository?: Pick<OpenOptions, 'resilience' | 'packSize'>;
}

export interface SnapshotInput {
  repository: RepositorySpec;
  service: string;
  datastore: Datastore;
  stagingId: string;
  /** The backup run whose shared repository lock this step renews (see repository/records/locks.ts). */
  lockOwner: string;
}
/** When a step ran, by the worker's clock. */
export interface StepTiming {
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}
export interface SnapshotOutput extends StepTiming {
  snapshot: SnapshotRef;
  takenAt: string;
  /** Where the store's log stood when the dump started, for change rates. */
  position?: string;
}
export interface GroupSnapshotInput extends Omit<FreezePlan, 'leaseMs' | 'scratchDir'> {
  repository: RepositorySpec;
  lockOwner: string;
}
export interface GroupSnapshotOutput {
  times: FreezeTimes;
  hookDetails: string[];
  members: Record<string, { snapshot: SnapshotRef; position?: string }>;
}
export interface RestoreServiceInput {
  repository: RepositorySpec;
  service: string;
  datastore: Datastore;
  snapshot: SnapshotRef;
  target?: string;
  stagingId: string;
}
export interface RestoreServiceOutput extends StepTiming {
  bytes: number;
  restoredTo: string;
}

export function createActivities(deps: ActivityDeps = {}) {
  const stallMs = deps.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  const repositories = new Map<string, Promise<Repository>>();
  const openAnew = (key: string, spec: RepositorySpec, create: boolean): Promise<Repository> => {
    // A wrong password or a missing repository is the same on every attempt: fail the step at once.
    const opening = withoutRetryingUserErrors(() => Repository.open(spec, { ...deps.repository, create }));
    // A wrong password may be fixed, a missing repository backed up: try again next time.
    opening.catch(() => repositories.get(key) === opening && repositories.delete(key));
    repositories.set(key, opening);
    return opening;
  };
  /**
   * One Repository (its index and codec workers) per repository and worker process. Only
   * `create` (a backup's first step) initialises a missing one: restores, drills and
   * verifies refuse it, naming the manifest field.
   */
  const openRepository = (spec: RepositorySpec, create = false): Promise<Repository> => {
    const key = JSON.stringify(spec);
    const cached = repositories.get(key);
    if (!cached) return openAnew(key, spec, create);
    return create ? cached.catch(() => openAnew(key, spec, true)) : cached;
  };

  /** Stores a snapshot stream, then reads it back: a snapshot is only recorded once verified. */
  const storeVerified = async (
    repo: Repository,
    lockOwner: string,
    service: string,
    source: Readable,
    progress: ProgressFn,
  ) => {
    const signal = Context.current().cancellationSignal;
    const guarded = chain(
      source,
      stallGuard(stallMs, () => new Error(stalled(stallMs))),
      () => {},
    );
    // Renewing the run's shared lock keeps a prune from deleting what this step deduplicates against.
    const ref = await consuming(source, () =>
      whileLocked(repo, 'shared', lockOwner, () =>
        repo.storeSnapshot(throttled(guarded, deps.rateLimit, signal), (bytes) =>
          progress({ phase: `snapshot ${service}`, bytes }),
        ),
      ),
    );
    progress({ phase: `verify ${service}`, bytes: ref.size });
    const problem = await repo.checkSnapshot(ref);
    if (problem) throw new Error(`snapshot of ${service} failed verification: ${problem.problem}`);
    return ref;
  };

  return {
    /** Streams a datastore's snapshot into the repository, then reads it back to verify it. */
    async snapshotService(input: SnapshotInput): Promise<SnapshotOutput> {
      const started = Date.now();
      const repo = await openRepository(input.repository);
      const takenAt = new Date().toISOString();
      const adapter = adapterFor(input.datastore);
      const where = adapter.describe(input.datastore);
      // Read just before the dump starts: the next backup measures the log's growth from here.
      const position = await adapter.logPosition?.(input.datastore).catch(() => undefined);
      const snapshot = await withOutageRetries(() =>
        withHeartbeats(async (progress) => {
          const source = await adapter
            .snapshot(input.datastore, adapterContext(input.stagingId))
            .catch((err: unknown) => Promise.reject(fromStore(err, input.service, where)));
          return storeVerified(repo, input.lockOwner, input.service, source, progress).catch((err: unknown) =>
            Promise.reject(fromStore(err, input.service, where)),
          );
        }),
      );
      return { snapshot, takenAt, position, ...timing(started) };
    },

    /**
     * Snapshots a consistency group as of one moment: a bounded freeze establishes every
     * member's point, then each is streamed out and verified with writes flowing again.
     */
    async snapshotGroup(input: GroupSnapshotInput): Promise<GroupSnapshotOutput> {
      const repo = await openRepository(input.repository);
      const ctx = Context.current();
      return withOutageRetries(() =>
        withHeartbeats(async (progress) => {
          progress({ phase: 'freeze', bytes: 0 });
          const held = await establishPoints(
            {
              ...input,
              leaseMs: ctx.info.heartbeatTimeoutMs || input.maxFreezeMs,
              scratchDir: deps.scratchDir ?? path.join(os.tmpdir(), 'lazarus-points'),
            },
            ctx.cancellationSignal,
          );
          const members: GroupSnapshotOutput['members'] = {};
          try {
            for (const { service } of input.members) {
              const point = held.points.get(service)!;
              const snapshot = await storeVerified(
                repo,
                input.lockOwner,
                service,
                await point.open(),
                progress,
              );
              members[service] = { snapshot, position: point.position };
            }
          } finally {
            await Promise.all([...held.points.values()].map((p) => p.close().catch(() => {})));
          }
          return { times: held.times, hookDetails: held.hookDetails, members };
        }),
      );
    },

    /** Runs a drill's validators against one service's sandbox copy. */
    async validateService(input: ValidateInput): Promise<{ results: ValidationResult[] } & StepTiming> {
      const started = Date.now();
      const repo = await openRepository(input.repository);
      const results = await withHeartbeats(() =>
        runValidators(input, repo, Context.current().cancellationSignal),
      );
      return { results, ...timing(started) };
    },

    /** Removes a drill's sandbox copy of one service (and any staging its restore left). */
    async tearDownSandbox(input: { datastore: Datastore; target: string; stagingId: string }): Promise<void> {
      await withHeartbeats(() =>
        tearDownCopy(input.datastore, input.target, input.stagingId, Context.current().cancellationSignal),
      );
    },

    async removeSandboxRoot(input: { root: string }): Promise<void> {
      await removeSandboxRoot(input.root);
    },

    /** Runs a user's hook; its failure is returned for the workflow to weigh (on_error). */
    async runHook(input: { hook: Hook; context: HookContext }): Promise<HookResult> {
      return withHeartbeats(() =>
        runHookOnce(input.hook, input.context, Context.current().cancellationSignal),
      );
    },

    /** Restores one service's snapshot into its datastore (or the mapped target). */
    async restoreService(input: RestoreServiceInput): Promise<RestoreServiceOutput> {
      const started = Date.now();
      const repo = await openRepository(input.repository);
      const adapter = adapterFor(input.datastore);
      const store = input.target ? adapter.retarget(input.datastore, input.target) : input.datastore;
      const ctx = adapterContext(input.stagingId);
      // The stream is verified as it is read: damaged bytes fail it before the swap.
      if (!(await repo.hasSnapshot(input.snapshot))) {
        throw ApplicationFailure.nonRetryable(
          `the snapshot of ${input.service} is missing from the repository`,
        );
      }
      try {
        await withOutageRetries(() =>
          withHeartbeats(async (progress) => {
            const stored = repo.openSnapshot(input.snapshot);
            const guard = stallGuard(
              stallMs,
              () =>
                new RepositoryError(repo.backend.location, 'read', 'snapshot', new Error(stalled(stallMs))),
            );
            const source = throttled(
              chain(stored, guard, () => {}),
              deps.rateLimit,
              ctx.signal,
            );
            const counted = chain(
              source,
              byteCounter((bytes) => progress({ phase: 'restore', bytes })),
              () => {},
            );
            await consuming(stored, () => adapter.restore(store, counted, ctx)).catch((err: unknown) =>
              Promise.reject(fromStore(err, input.service, adapter.describe(store))),
            );
          }),
        );
      } catch (err) {
        // A staging area that cannot be removed must not hide why the restore failed; the
        // next attempt, or teardown, removes it first.
        await adapter.discard(store, ctx).catch(() => {});
        throw ctx.signal.aborted
          ? new CancelledFailure('restore cancelled; the target was not changed')
          : err;
      }
      return { bytes: input.snapshot.size, restoredTo: adapter.describe(store), ...timing(started) };
    },

    /** The --targets of a restore that already hold data, as `service=where`. */
    async targetsHoldingData(input: {
      targets: { service: string; target: string; datastore: Datastore }[];
    }): Promise<string[]> {
      const occupied: string[] = [];
      for (const { service, target, datastore } of input.targets) {
        const adapter = adapterFor(datastore);
        const store = adapter.retarget(datastore, target);
        if (await adapter.holdsData(store)) occupied.push(`${service}=${adapter.describe(store)}`);
      }
      return occupied;
    },

    async resolveBackup(input: {
      repository: RepositorySpec;
      app: string;
      backupId?: string;
      /** Without backupId: the latest verified backup that holds every one of these. */
      services?: string[];
    }): Promise<BackupEntry> {
      return withHeartbeats(async () => {
        const repo = await openRepository(input.repository);
        return withoutRetryingUserErrors(() => repo.findBackup(input.app, input.backupId, input.services));
      });
    },

    async saveDrillReport(input: {
      repository: RepositorySpec;
      report: { app: string; workflowId: string };
    }) {
      await withHeartbeats(async () =>
        (await openRepository(input.repository)).saveDrillReport(input.report),
      );
    },

    /**
     * Records the backup with each store's change since the previous one; a retry keeps the
     * first record. Returns the ID recorded: another run's backup may already hold the one asked.
     */
    async saveBackup(input: { repository: RepositorySpec; entry: BackupEntry }): Promise<{ id: string }> {
      return withHeartbeats(async () => {
        const repo = await openRepository(input.repository);
        return { id: await repo.recordBackup(input.entry, (entry) => withChanges(repo, entry)) };
      });
    },

    /**
     * A backup's shared lock, held from its start until its catalog entry is written: a
     * prune in between would see its new chunks as unreferenced. Waits out a prune. As a
     * backup's first step, it creates the repository on the first backup.
     */
    async lockRepository(input: { repository: RepositorySpec; owner: string }): Promise<void> {
      await withHeartbeats(async () =>
        acquireLock(await openRepository(input.repository, true), 'shared', input.owner),
      );
    },

    async unlockRepository(input: { repository: RepositorySpec; owner: string }): Promise<void> {
      await withHeartbeats(async () => releaseLock(await openRepository(input.repository), input.owner));
    },

    /** The repository's structure: indexes, packs, trees; reads no data. */
    async verifyStructure(input: { repository: RepositorySpec }): Promise<VerifyReport> {
      const repo = await openRepository(input.repository);
      return withHeartbeats(() => repo.verify());
    },

    /** Reads and re-hashes one batch of the packs a verify run chose. */
    async verifyPackBatch(input: {
      repository: RepositorySpec;
      subset?: number;
      seed: string;
      batch: { index: number; count: number };
    }): Promise<VerifyReport> {
      const repo = await openRepository(input.repository);
      return withHeartbeats((progress) =>
        repo.verify({
          readData: true,
          dataOnly: true,
          subset: input.subset,
          seed: input.seed,
          batch: input.batch,
          onProgress: (done) => progress({ phase: 'read packs', bytes: done }),
        }),
      );
    },

    ...adaptiveActivities(openRepository),
  };
}

export type Activities = ReturnType<typeof createActivities>;

/**
 * A UserError (a missing backup, a datastore that is not there, a restore that must be
 * refused) comes out the same on every attempt: fail the step at once instead of retrying.
 */
/** What a connection outage looks like, from Node, the AWS SDK and the dump tools. */
const outage =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|socket hang up|stalled|timed? ?out|could not connect|connection refused|server closed the connection|lost connection|can't connect|connection reset|terminating connection/i;

/** Attempts a failure that does not look like an outage gets: a broken target fails in seconds. */
const ATTEMPTS_FOR_OTHER_FAILURES = 3;

/**
 * A snapshot or restore step's retry budget: a failure that looks like an outage (a refused,
 * reset or stalled connection, the repository unreachable) is retried as long as the step's
 * policy allows, to ride out a database failover or a minute of S3 trouble; any other (a
 * broken target, a tool's own error) comes out the same each time and stops after a few.
 */
async function withOutageRetries<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await withoutRetryingUserErrors(work);
  } catch (err) {
    const decided = err instanceof ApplicationFailure || err instanceof CancelledFailure;
    const message = messageOf(err);
    if (decided || outage.test(message)) throw err;
    if (Context.current().info.attempt >= ATTEMPTS_FOR_OTHER_FAILURES)
      throw ApplicationFailure.nonRetryable(message, 'StepFailed');
    throw err;
  }
}

async function withoutRetryingUserErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof UserError)
      throw ApplicationFailure.nonRetryable(
        err.message,
        err instanceof MissingRepositoryError ? MissingRepositoryError.failureType : 'UserError',
      );
    throw err;
  }
}

/**
 * Runs `work`, which reads `stream`, and destroys the stream afterwards whatever happened:
 * when the repository side fails, the dump tool behind the stream is stopped instead of
 * left running with its transaction and locks open.
 */
async function consuming<T>(stream: Readable, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    stream.destroy();
  }
}

function stalled(ms: number): string {
  return `no data for ${Math.round(ms / 1000)} s: the connection stalled`;
}

/**
 * Names the store a failure came from (`orders (postgres 127.0.0.1:5432/orders): ...`),
 * unless it is the repository's (which names itself) or a decision already made.
 */
function fromStore(err: unknown, service: string, where: string): unknown {
  const decided =
    err instanceof ApplicationFailure || err instanceof CancelledFailure || err instanceof UserError;
  const message = messageOf(err);
  if (decided || err instanceof RepositoryError || message.includes(where)) return err;
  // No `cause`: run results show the innermost message, and this one must name the store.
  return new Error(`${service} (${where}): ${message}`);
}

/** Not `instanceof Error`: errors from Node's own modules may come from another realm (jest's). */
function messageOf(err: unknown): string {
  return String((err as Error | undefined)?.message ?? err);
}

function timing(started: number): StepTiming {
  const finished = Date.now();
  return {
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationMs: finished - started,
  };
}

function adapterContext(stagingId: string) {
  return { stagingId, signal: Context.current().cancellationSignal };
}

function throttled(source: Readable, rateLimit: number | undefined, signal: AbortSignal): Readable {
  const limited = chain(source, rateLimiter(rateLimit), () => {});
  signal.addEventListener('abort', () => limited.destroy(new Error('cancelled')), { once: true });
  return limited;
}

interface Progress {
  phase: string;
  bytes: number;
}
type ProgressFn = (p: Progress) => void;

/**
 * Heartbeats on progress and on a timer, so a step busy in a phase that reports no
 * bytes (a database swap, SQLite's backup API) still proves its worker alive.
 */
async function withHeartbeats<T>(work: (progress: ProgressFn) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  let last: Progress = { phase: 'start', bytes: 0 };
  ctx.heartbeat(last);
  const timer = setInterval(() => ctx.heartbeat(last), 1000);
  try {
    return await work((p) => {
      last = p;
      ctx.heartbeat(p);
    });
  } finally {
    clearInterval(timer);
  }
}
