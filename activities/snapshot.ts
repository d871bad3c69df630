/**
 * Backup steps: a datastore's snapshot streamed into the repository, and a consistency
 * group's snapshots taken as of one moment. A snapshot is only recorded once read back.
 */
import { Context } from '@temporalio/activity';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline as chain } from 'node:stream';
import type { Datastore } from '../model/manifest';
import type { SnapshotRef } from '../repository/records/catalog';
import type { RepositorySpec } from '../contracts/repository-spec';
import { type Lockable, whileLocked } from '../repository/records/locks';
import type { SnapshotStore } from '../repository/repository';
import type { FeatureDeps } from './deps';
import { establishPoints, type FreezePlan, type FreezeTimes } from './group-snapshot';
import {
  type ProgressFn,
  type StepTiming,
  adapterContext,
  consuming,
  fromStore,
  stallGuardOf,
  throttled,
  timing,
  withHeartbeats,
  withOutageRetries,
} from './support';

export interface SnapshotInput {
  repository: RepositorySpec;
  service: string;
  datastore: Datastore;
  stagingId: string;
  /** The backup run whose shared repository lock this step renews (see repository/locks.ts). */
  lockOwner: string;
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

/**
 * Stores a snapshot stream, then reads it back: a snapshot is only recorded once verified.
 * Function bundles are stored the same way (activities/functions.ts).
 */
export function verifiedStore(deps: FeatureDeps) {
  return async (
    repo: SnapshotStore & Lockable,
    lockOwner: string,
    service: string,
    source: Readable,
    progress: ProgressFn,
  ) => {
    const signal = Context.current().cancellationSignal;
    const guarded = chain(source, stallGuardOf(deps), () => {});
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
}

export function snapshotActivities(deps: FeatureDeps) {
  const storeVerified = verifiedStore(deps);

  return {
    /** Streams a datastore's snapshot into the repository, then reads it back to verify it. */
    async snapshotService(input: SnapshotInput): Promise<SnapshotOutput> {
      const started = Date.now();
      const repo = await deps.repositories.open(input.repository);
      const takenAt = new Date().toISOString();
      const adapter = deps.adapterFor(input.datastore);
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
      const repo = await deps.repositories.open(input.repository);
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
            deps,
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
  };
}
