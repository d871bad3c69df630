// Defined in contracts/, below every layer: the capture records name stored snapshots too.
export type { SnapshotRef } from '../../contracts/snapshot-ref';
