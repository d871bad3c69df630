/** Which backups and services use each snapshot: what verify, prune and cost walk. */
import type { BackupEntry, SnapshotRef } from '../records/catalog';
import type { StreamSnapshot } from '../records/streams';

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

/**
 * The snapshots of backups, and those kept outside them: continuous capture's streams and
 * function versions (their user's backupId is `stream` or `function`).
 */
export function snapshotUses(backups: BackupEntry[], streams: StreamSnapshot[] = []): SnapshotUses {
  const uses: SnapshotUses = { trees: new Map(), legacy: new Map() };
  const add = (snapshot: SnapshotRef, user: SnapshotUser) => {
    const [map, key] = snapshot.tree ? [uses.trees, snapshot.tree] : [uses.legacy, snapshot.sha256];
    const use = map.get(key) ?? { ref: snapshot, users: [] };
    use.users.push(user);
    map.set(key, use);
  };
  for (const backup of backups) {
    for (const [service, { snapshot }] of Object.entries(backup.services))
      add(snapshot, { app: backup.app, backupId: backup.id, service });
  }
  for (const s of streams)
    add(s.ref, { app: s.app, backupId: s.keptBy ?? 'stream', service: `${s.service} (${s.label})` });
  return uses;
}
