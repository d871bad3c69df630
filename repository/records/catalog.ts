/** Catalog records: plain data, small, passed between workflows and activities. */

import type { SnapshotRef } from '../engine/snapshot-ref';

// Defined by the engine that stores snapshots; workflows and activities know it from here.
export type { SnapshotRef } from '../engine/snapshot-ref';

export interface ServiceSnapshot {
  kind: string;
  snapshot: SnapshotRef;
  takenAt: string;
  /** The stored object was read back and re-hashed after it was written. */
  verified: boolean;
  /** The consistency group whose one moment (takenAt) this snapshot shares with its other members. */
  group?: string;
  /** Where the store stood at that moment: an LSN, a GTID or binlog position, an offset. */
  position?: string;
  /** A function's service: the version captured (its bundle is `snapshot`). */
  version?: string;
  /** How much the store changed since the previous backup that holds it (see maintenance/change-rate.ts). */
  change?: ChangeSinceLast;
}

/** One backup of an application: every service's snapshot, as one catalog entry. */
export interface BackupEntry {
  id: string;
  app: string;
  workflowId: string;
  startedAt: string;
  completedAt: string;
  /** complete: every datastore was snapshotted and verified; partial: some failed. */
  status: 'complete' | 'partial';
  services: Record<string, ServiceSnapshot>;
  failures: Record<string, string>;
  /** The dependency graph at backup time (service -> what it depends on). */
  dependsOn: Record<string, string[]>;
}

export function isVerified(entry: BackupEntry): boolean {
  return entry.status === 'complete' && Object.values(entry.services).every((s) => s.verified);
}

/** How much a datastore changed between two backups (maintenance/change-rate.ts computes it). */
export interface ChangeSinceLast {
  /** Bytes of the snapshot that the previous one did not hold (chunk granularity). */
  bytes: number;
  /** Time since the previous snapshot of this service; absent for the first. */
  sinceMs?: number;
  /** Growth of the store's log between the two snapshot points, when both recorded one. */
  logBytes?: number;
}
