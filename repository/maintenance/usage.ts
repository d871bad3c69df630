/** Which backups and services use each snapshot: what verify, prune and cost walk. */
import type { BackupEntry, SnapshotRef } from '../records/catalog';

export interface SnapshotUser {
  app: string;
  backupId: string;
  service: string;
}

export interface SnapshotUses {
  /** Chunked snapshots, by tree id. */
  trees: Map<string, { ref: SnapshotRef; users: SnapshotUser[] }>;
  /** First-format snapshots, by SHA-256. */
  legacy: Map<string, { ref: SnapshotRef; users: SnapshotUser[] }>;
}

export function snapshotUses(backups: BackupEntry[]): SnapshotUses {
  const uses: SnapshotUses = { trees: new Map(), legacy: new Map() };
  for (const backup of backups) {
    for (const [service, { snapshot }] of Object.entries(backup.services)) {
      const [map, key] = snapshot.tree ? [uses.trees, snapshot.tree] : [uses.legacy, snapshot.sha256];
      const use = map.get(key) ?? { ref: snapshot, users: [] };
      use.users.push({ app: backup.app, backupId: backup.id, service });
      map.set(key, use);
    }
  }
  return uses;
}
