/**
 * `lazarus cost`: what the repository holds and what it costs. Logical bytes are the
 * snapshots' sizes; unique bytes are the distinct chunks they reference, before
 * compression; stored bytes are those chunks as written (compressed, sealed). Each
 * backup (in time order) is charged for the chunks it was first to store, and each
 * service likewise, so the parts add up to the whole.
 */
import type { BackupEntry } from '../records/catalog';
import { PACKS_PREFIX } from '../layout';
import type { RepositoryLayers } from './layers';
import { readTree } from '../engine/snapshot-reader';

/** What cost reads of a repository. */
type CostedRepository = Pick<RepositoryLayers, 'engine' | 'catalog' | 'drills'>;

export interface Prices {
  perGbMonth: number;
  perGbTransfer: number;
}

export interface ByteTally {
  logicalBytes: number;
  /** Bytes of the chunks first stored here, before compression. */
  uniqueBytes: number;
  /** The same chunks as stored. */
  storedBytes: number;
}

export interface CostReport {
  app: string;
  repository: ByteTally & {
    /** Everything under data/: packs with their headers, and what prune has yet to remove. */
    packBytes: number;
    dedupRatio: number;
    compressionRatio: number;
  };
  services: Record<string, ByteTally & { dedupRatio: number }>;
  backups: (ByteTally & { id: string; startedAt: string })[];
  month: {
    /** Stored bytes written by backups in the last 30 days. */
    uploadedBytes: number;
    /** Bytes drills of the last 30 days read back (restored bytes, as compressed). */
    drillReadBytes: number;
    storage: number;
    transfer: number;
    total: number;
    prices: Prices;
  };
}

/** The part of a drill report the estimate reads. */
interface DrillBytes {
  startedAt: string;
  services: Record<string, { restore?: { bytes?: number } }>;
}

const GB = 1e9;
const MONTH_MS = 30 * 86_400_000;

export async function costReport(
  repo: CostedRepository,
  app: string,
  prices: Prices,
  now = new Date(),
): Promise<CostReport> {
  await repo.engine.index.load();
  const parts = repo.engine;
  const seen = new Set<string>();
  const services: CostReport['services'] = {};
  const backups: CostReport['backups'] = [];
  const total: ByteTally = { logicalBytes: 0, uniqueBytes: 0, storedBytes: 0 };

  for (const backup of (await repo.catalog.list()).sort(byTime)) {
    const charged: ByteTally = { logicalBytes: 0, uniqueBytes: 0, storedBytes: 0 };
    for (const [service, { snapshot }] of Object.entries(backup.services)) {
      const blobs = snapshot.tree ? [snapshot.tree, ...(await readTree(parts, snapshot.tree))] : [];
      const fresh: ByteTally = { logicalBytes: snapshot.size, uniqueBytes: 0, storedBytes: 0 };
      for (const id of blobs) {
        const at = repo.engine.index.find(id);
        if (!at || seen.has(id)) continue;
        seen.add(id);
        fresh.uniqueBytes += at.rawLength;
        fresh.storedBytes += at.length;
      }
      if (!snapshot.tree && !seen.has(snapshot.sha256)) {
        seen.add(snapshot.sha256); // a first-format object: stored whole, uncompressed
        fresh.uniqueBytes += snapshot.size;
        fresh.storedBytes += snapshot.size;
      }
      add(charged, fresh);
      if (backup.app === app)
        add(
          (services[service] ??= { logicalBytes: 0, uniqueBytes: 0, storedBytes: 0, dedupRatio: 0 }),
          fresh,
        );
    }
    add(total, charged);
    if (backup.app === app) backups.push({ id: backup.id, startedAt: backup.startedAt, ...charged });
  }
  for (const usage of Object.values(services))
    usage.dedupRatio = ratio(usage.logicalBytes, usage.uniqueBytes);

  let packBytes = 0;
  for await (const { size } of repo.engine.backend.list(PACKS_PREFIX)) packBytes += size;
  const since = now.getTime() - MONTH_MS;
  const uploadedBytes = backups
    .filter((b) => Date.parse(b.startedAt) >= since)
    .reduce((n, b) => n + b.storedBytes, 0);
  const restored = (await repo.drills.list<DrillBytes>(app))
    .filter((d) => Date.parse(d.startedAt) >= since)
    .flatMap((d) => Object.values(d.services).map((s) => s.restore?.bytes ?? 0))
    .reduce((n, b) => n + b, 0);
  const drillReadBytes = Math.round(restored / (ratio(total.uniqueBytes, total.storedBytes) || 1));
  const storage = (packBytes / GB) * prices.perGbMonth;
  const transfer = ((uploadedBytes + drillReadBytes) / GB) * prices.perGbTransfer;
  return {
    app,
    repository: {
      ...total,
      packBytes,
      dedupRatio: ratio(total.logicalBytes, total.uniqueBytes),
      compressionRatio: ratio(total.uniqueBytes, total.storedBytes),
    },
    services,
    backups,
    month: {
      uploadedBytes,
      drillReadBytes,
      storage: cents(storage),
      transfer: cents(transfer),
      total: cents(storage + transfer),
      prices,
    },
  };
}

function byTime(a: BackupEntry, b: BackupEntry): number {
  return a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id);
}
function add(into: ByteTally, usage: ByteTally): void {
  into.logicalBytes += usage.logicalBytes;
  into.uniqueBytes += usage.uniqueBytes;
  into.storedBytes += usage.storedBytes;
}
function ratio(a: number, b: number): number {
  return b === 0 ? 0 : Math.round((a / b) * 100) / 100;
}
function cents(amount: number): number {
  return Math.round(amount * 100) / 100;
}
