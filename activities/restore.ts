/** Restore steps: a snapshot streamed back into its datastore (or a target), and the targets' check. */
import { ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import { pipeline as chain } from 'node:stream';
import type { Datastore } from '../model/manifest';
import type { SnapshotRef } from '../repository/records/catalog';
import type { RepositorySpec } from '../contracts/repository-spec';
import { RepositoryError } from '../repository/storage/retry';
import { byteCounter } from '../repository/engine/streams';
import type { FeatureDeps } from './deps';
import {
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

export function restoreActivities(deps: FeatureDeps) {
  return {
    /** Restores one service's snapshot into its datastore (or the mapped target). */
    async restoreService(input: RestoreServiceInput): Promise<RestoreServiceOutput> {
      const started = Date.now();
      const repo = await deps.repositories.open(input.repository);
      const adapter = deps.adapterFor(input.datastore);
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
            const guard = stallGuardOf(
              deps,
              (message) => new RepositoryError(repo.backend.location, 'read', 'snapshot', new Error(message)),
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
        const adapter = deps.adapterFor(datastore);
        const store = adapter.retarget(datastore, target);
        if (await adapter.holdsData(store)) occupied.push(`${service}=${adapter.describe(store)}`);
      }
      return occupied;
    },
  };
}
