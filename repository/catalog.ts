/** Catalog records: plain data, small, passed between workflows and activities. */

/** A stored snapshot: its content address (SHA-256 of the bytes) and size. */
export interface SnapshotRef {
  sha256: string;
  size: number;
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
