/** The catalog as the workflows see it: short bookkeeping activities, and finding the backup a run uses. */
import { keepsState } from '../model/restore-selection';
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { catalogStep } from './activity-options';
import type { AppSpec } from './types';

/** Catalog reads and writes (resolve a backup, record one, save a drill report). */
export const catalogActivities = proxyActivities<Activities>(catalogStep);

/** The backup a restore or drill of `services` uses: the one named, or the latest verified that holds their stores. */
export function resolveBackupFor(spec: AppSpec, backupId: string | undefined, services: string[]) {
  return catalogActivities.resolveBackup({
    repository: spec.repository,
    app: spec.app,
    backupId,
    services: services.filter((s) => keepsState(spec.services[s])),
  });
}
