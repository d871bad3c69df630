/**
 * Helpers for tests and benchmarks that build repositories by hand (restic's testing.go):
 * plain data only, so bench/ needs nothing from test/.
 */
import type { BackupEntry, SnapshotRef } from './records/catalog';

/** A catalog entry of app "shop" taken at `at`, with these snapshots. */
export function catalogEntry(
  id: string,
  services: Record<string, SnapshotRef>,
  at = '2026-11-21T10:00:00.000Z',
): BackupEntry {
  return {
    id,
    app: 'shop',
    workflowId: `backup/shop/${at}`,
    startedAt: at,
    completedAt: at,
    status: 'complete',
    services: Object.fromEntries(
      Object.entries(services).map(([s, snapshot]) => [
        s,
        { kind: 'sqlite', snapshot, takenAt: at, verified: true },
      ]),
    ),
    failures: {},
    dependsOn: {},
  };
}
