/** Catalog records: plain data, small, passed between workflows and activities. */
import type { ChangeSinceLast } from './change-rate';

/**
 * A stored snapshot: the SHA-256 and size of its bytes (checked end to end on every
 * read), and the tree blob that lists its chunks. A first-format snapshot has no tree:
 * it is one object named by its SHA-256.
 */
export interface SnapshotRef {
  sha256: string;
  size: number;
  tree?: string;
}

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
  /** How much the store changed since the previous backup that holds it (see change-rate.ts). */
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
