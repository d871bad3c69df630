/**
 * Repository locks, as restic's: every backup holds a shared lock for its whole run, so
 * that prune (which takes the exclusive lock) never deletes a chunk a backup has just
 * deduplicated against, nor the fresh chunks a backup has stored but not yet recorded in
 * the catalog. Each side writes its lock first and looks for the other's second, so of a
 * backup and a prune starting together at least one sees the other and stands back.
 *
 * A lock is stale once not refreshed for STALE_MS (its holder died), or at once when it
 * names a process of this host that no longer runs.
 */
import os from 'node:os';
import { LOCKS_PREFIX, lockKey } from '../layout';
import type { RecordStore } from './record-store';

/** What locking needs of a repository: its records. */
export interface Lockable {
  readonly records: RecordStore;
}

export type LockKind = 'shared' | 'exclusive';

export interface LockRecord {
  kind: LockKind;
  /** Who holds it: a backup's workflow ID, or "prune". */
  owner: string;
  host: string;
  pid: number;
  /** Whether the holder's process is the lock's lifetime (a CLI command), not a workflow's. */
  processBound: boolean;
  createdAt: string;
  refreshedAt: string;
}

export const STALE_MS = 30 * 60_000;
const REFRESH_MS = 60_000;

/** Not a UserError: an activity retries it (the lock goes away); the CLI exits 4 with its message. */
export class RepositoryLockedError extends Error {}

/**
 * Takes (or, for the same owner, renews) a lock; fails with RepositoryLockedError when a
 * live lock of the other kind is held. `processBound`: the lock dies with this process.
 */
export async function acquireLock(
  repo: Lockable,
  kind: LockKind,
  owner: string,
  processBound = false,
): Promise<LockRecord> {
  const now = new Date().toISOString();
  const previous = await repo.records.read<LockRecord>(lockKey(owner));
  const record: LockRecord = {
    kind,
    owner,
    host: os.hostname(),
    pid: process.pid,
    processBound,
    createdAt: previous?.createdAt ?? now,
    refreshedAt: now,
  };
  await repo.records.put(lockKey(owner), record);
  const blocking = (await liveLocks(repo)).find(
    (lock) => lock.owner !== owner && (kind === 'exclusive' || lock.kind === 'exclusive'),
  );
  if (blocking) {
    if (!previous) await repo.records.remove(lockKey(owner));
    throw new RepositoryLockedError(
      `the repository is locked by ${blocking.kind === 'exclusive' ? 'a prune' : blocking.owner} ` +
        `(${blocking.host}, pid ${blocking.pid}, since ${blocking.createdAt}); try again when it has finished`,
    );
  }
  return record;
}

export async function releaseLock(repo: Lockable, owner: string): Promise<void> {
  await repo.records.remove(lockKey(owner));
}

/** Renews the lock every minute while `work` runs. */
export async function whileLocked<T>(
  repo: Lockable,
  kind: LockKind,
  owner: string,
  work: () => Promise<T>,
): Promise<T> {
  await acquireLock(repo, kind, owner, kind === 'exclusive');
  const timer = setInterval(
    () => void acquireLock(repo, kind, owner, kind === 'exclusive').catch(() => {}),
    REFRESH_MS,
  );
  try {
    return await work();
  } finally {
    clearInterval(timer);
    if (kind === 'exclusive') await releaseLock(repo, owner);
  }
}

export async function liveLocks(repo: Lockable): Promise<LockRecord[]> {
  const locks: LockRecord[] = [];
  for await (const key of repo.records.keys(LOCKS_PREFIX)) {
    // An unreadable lock blocks nothing.
    const lock = await repo.records.read<LockRecord>(key).catch(() => undefined);
    if (lock && !isStale(lock)) locks.push(lock);
  }
  return locks;
}

function isStale(lock: LockRecord): boolean {
  if (Date.now() - Date.parse(lock.refreshedAt) > STALE_MS) return true;
  return lock.processBound && lock.host === os.hostname() && !processRuns(lock.pid);
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
