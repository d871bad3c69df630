/**
 * How much each datastore changed between two backups, recorded in the catalog entry of
 * the later one: the bytes of chunks the earlier snapshot did not have and, when both
 * snapshots carry a log position, how far the log (WAL, binlog, replication offset) grew.
 * The adaptive scheduler reads these figures.
 */
import type { BackupEntry, ChangeSinceLast, ServiceSnapshot, SnapshotRef } from '../records/catalog';
import { readTree } from '../engine/snapshot-reader';
import type { RepositoryLayers } from './layers';

/** What change rate reads of a repository. */
type ChangeRepository = Pick<RepositoryLayers, 'engine' | 'catalog'>;

/** The entry with each snapshot's change since the previous backup holding that service. */
export async function withChanges(repo: ChangeRepository, entry: BackupEntry): Promise<BackupEntry> {
  const previousOf = await previousSnapshots(repo, entry);
  const services: Record<string, ServiceSnapshot> = {};
  for (const [service, snapshot] of Object.entries(entry.services)) {
    const previous = previousOf.get(service);
    // The figure is advice for the scheduler: a tree that cannot be read must not cost the backup its record.
    const change = await changeSince(repo, snapshot, previous).catch(() => undefined);
    services[service] = change ? { ...snapshot, change } : snapshot;
  }
  return { ...entry, services };
}

/** Each service's snapshot in the latest earlier backup that holds it, reading back only that far. */
async function previousSnapshots(
  repo: ChangeRepository,
  entry: BackupEntry,
): Promise<Map<string, ServiceSnapshot>> {
  const wanted = new Set(Object.keys(entry.services));
  const found = new Map<string, ServiceSnapshot>();
  for await (const earlier of repo.catalog.newestFirst(entry.app)) {
    if (earlier.startedAt >= entry.startedAt) continue;
    for (const service of wanted)
      if (earlier.services[service] && !found.has(service)) found.set(service, earlier.services[service]);
    if (found.size === wanted.size) break;
  }
  return found;
}

async function changeSince(
  repo: ChangeRepository,
  current: ServiceSnapshot,
  previous: ServiceSnapshot | undefined,
): Promise<ChangeSinceLast> {
  if (!previous) return { bytes: current.snapshot.size };
  return {
    bytes: await changedBytes(repo, current.snapshot, previous.snapshot),
    sinceMs: Date.parse(current.takenAt) - Date.parse(previous.takenAt),
    logBytes: logGrowth(previous.position, current.position),
  };
}

async function changedBytes(
  repo: ChangeRepository,
  current: SnapshotRef,
  previous: SnapshotRef,
): Promise<number> {
  if (!current.tree || !previous.tree) return current.sha256 === previous.sha256 ? 0 : current.size;
  await repo.engine.index.load();
  const parts = repo.engine;
  const before = new Set(await readTree(parts, previous.tree));
  let bytes = 0;
  for (const id of new Set(await readTree(parts, current.tree)))
    if (!before.has(id)) bytes += repo.engine.index.find(id)?.rawLength ?? 0;
  return bytes;
}

/**
 * Bytes between two positions of the same log: PostgreSQL LSNs ("lsn 0/16B3748"), Redis
 * replication offsets, MariaDB binlog offsets within one file; undefined otherwise.
 */
export function logGrowth(previous?: string, current?: string): number | undefined {
  const a = logOffset(previous);
  const b = logOffset(current);
  if (!a || !b || a.log !== b.log || b.offset < a.offset) return undefined;
  return Number(b.offset - a.offset);
}

function logOffset(position?: string): { log: string; offset: bigint } | undefined {
  if (!position) return undefined;
  const lsn = /lsn ([0-9A-F]+)\/([0-9A-F]+)/i.exec(position);
  if (lsn) return { log: 'wal', offset: (BigInt(`0x${lsn[1]}`) << 32n) + BigInt(`0x${lsn[2]}`) };
  const offset = /replication offset (\d+)/.exec(position);
  if (offset) return { log: 'replication', offset: BigInt(offset[1]) };
  const binlog = /([\w.-]+\.\d+):(\d+)/.exec(position);
  if (binlog) return { log: binlog[1], offset: BigInt(binlog[2]) };
  return undefined;
}
