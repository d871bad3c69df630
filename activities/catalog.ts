/** Bookkeeping steps: finding and recording backups and drill reports, and a backup's repository lock. */
import { withChanges } from '../repository/maintenance/change-rate';
import type { BackupEntry } from '../repository/records/catalog';
import type { RepositorySpec } from '../contracts/repository-spec';
import { acquireLock, releaseLock } from '../repository/records/locks';
import type { FeatureDeps } from './deps';
import { withHeartbeats, withoutRetryingUserErrors } from './support';

export function catalogActivities({ repositories }: Pick<FeatureDeps, 'repositories'>) {
  return {
    async resolveBackup(input: {
      repository: RepositorySpec;
      app: string;
      backupId?: string;
      /** Without backupId: the latest verified backup that holds every one of these. */
      services?: string[];
    }): Promise<BackupEntry> {
      return withHeartbeats(async () => {
        const repo = await repositories.open(input.repository);
        return withoutRetryingUserErrors(() => repo.findBackup(input.app, input.backupId, input.services));
      });
    },

    async saveDrillReport(input: {
      repository: RepositorySpec;
      report: { app: string; workflowId: string };
    }) {
      await withHeartbeats(async () =>
        (await repositories.open(input.repository)).saveDrillReport(input.report),
      );
    },

    /**
     * Records the backup with each store's change since the previous one; a retry keeps the
     * first record. Returns the ID recorded: another run's backup may already hold the one asked.
     */
    async saveBackup(input: { repository: RepositorySpec; entry: BackupEntry }): Promise<{ id: string }> {
      return withHeartbeats(async () => {
        const repo = await repositories.open(input.repository);
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
        acquireLock(await repositories.open(input.repository, true), 'shared', input.owner),
      );
    },

    async unlockRepository(input: { repository: RepositorySpec; owner: string }): Promise<void> {
      await withHeartbeats(async () => releaseLock(await repositories.open(input.repository), input.owner));
    },
  };
}
