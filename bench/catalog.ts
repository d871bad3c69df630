/**
 * npm run bench:catalog: how a growing catalog weighs on the steps that look back through
 * it, on a real S3-compatible server (versitygw). Per catalog size: what a restore's choice
 * of backup, a backup's change figures and an adaptive check cost when they read the catalog
 * newest first and stop early, against reading every entry (listBackups). Prints JSON.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { BackupEntry, SnapshotRef } from '../repository/records/catalog';
import { withChanges } from '../repository/maintenance/change-rate';
import { Repository } from '../repository/repository';
import { startS3Server } from '../tools/s3-server';
import { catalogEntry } from '../repository/testing';

const SIZES = (process.env.BENCH_CATALOG_SIZES ?? '100,1000').split(',').map(Number);

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'lazarus-bench-catalog-'));
  const server = await startS3Server(path.join(work, 's3'), ['bench'], (m) => console.error(m));
  process.env.AWS_ACCESS_KEY_ID = server.accessKey;
  process.env.AWS_SECRET_ACCESS_KEY = server.secretKey;
  try {
    const results = [];
    for (const size of SIZES) {
      const repo = await Repository.open(
        { location: `s3://bench/catalog-${size}`, endpoint: server.endpoint },
        { create: true },
      );
      results.push({ backups: size, ...(await measure(repo, size)) });
      await repo.close();
    }
    console.log(JSON.stringify({ server: 'versitygw', results }, null, 2));
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Fills the catalog as two tiers would (orders every backup, files every tenth), then times each look-back. */
async function measure(repo: Repository, size: number) {
  const ref = await repo.storeSnapshot(Readable.from([Buffer.from('a small snapshot')]));
  let latest: BackupEntry | undefined;
  for (let i = 0; i < size; i++) {
    const at = new Date(Date.UTC(2026, 10, 1) + i * 60_000).toISOString();
    const services = i % 10 ? ['orders'] : ['orders', 'files'];
    latest = entry(at, services, ref);
    await repo.saveBackup(latest);
  }
  const reads = countReads(repo);
  const next = entry(new Date(Date.UTC(2026, 10, 1) + size * 60_000).toISOString(), ['orders', 'files'], ref);
  return {
    findLatestOrders: await step(reads, () => repo.findBackup('shop', undefined, ['orders'])),
    findLatestWithFiles: await step(reads, () => repo.findBackup('shop', undefined, ['orders', 'files'])),
    changeFigures: await step(reads, () => withChanges(repo, next)),
    readEveryEntry: await step(reads, () => repo.listBackups('shop')),
  };
}

/** A backup taken at `at` holding these services, all with the same small snapshot. */
function entry(at: string, services: string[], ref: SnapshotRef): BackupEntry {
  return catalogEntry(at.replace(/[-:]/g, ''), Object.fromEntries(services.map((s) => [s, ref])), at);
}

/** Counts the GETs of catalog records. */
function countReads(repo: Repository): { count: number } {
  const counter = { count: 0 };
  const read = repo.backend.read.bind(repo.backend);
  repo.backend.read = (key, range) => {
    if (key.startsWith('catalog/')) counter.count++;
    return read(key, range);
  };
  return counter;
}

async function step(reads: { count: number }, work: () => Promise<unknown>) {
  reads.count = 0;
  const started = process.hrtime.bigint();
  await work();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return { ms: Math.round(ms), catalogGets: reads.count };
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
