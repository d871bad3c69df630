/**
 * `npm run bench:pitr`: pgBackRest and Lazarus side by side on the SAME throwaway
 * PostgreSQL cluster under pgbench load, in one run. For each: the base backup's MB/s,
 * the capture lag (RPO) p50/p99 sampled every 200 ms against the source's head, the wall
 * time of a restore to the same target time (a moment of the load, some seconds before
 * its end) with its rows checked against the source's commit timestamps, and the bytes
 * its repository holds afterwards; then Lazarus's ratios to pgBackRest's. One JSON line on
 * stdout, a table on stderr. Runs its own dev server, worker and source; all of it is
 * stopped and removed at the end, failure or not.
 *
 * The bases are taken one after the other (pgBackRest's, then Lazarus's), so that neither
 * shares the two cores with the other; both then capture the same load at once.
 */
import { mkdtempSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { query } from '../datastores/postgres/capture/scratch';
import { serverUser } from '../datastores/postgres/capture/tools';
import { startDevServer } from '../temporal/dev-server';
import { LazarusSide } from './pitr/lazarus';
import { PGBACKREST_SETTINGS, PgBackRest, ensurePgBackRest } from './pitr/pgbackrest';
import { Cleanup, check } from './pitr/process';
import { humanTable, summary } from './pitr/report';
import { RpoSampler } from './pitr/rpo';
import { DATABASE, type Load, clusterBytes, historyRowsAt, runLoad, startBenchSource } from './pitr/source';

const SCALE = Number(process.env.BENCH_PITR_SCALE ?? 10);
const LOAD: Load = {
  seconds: Number(process.env.BENCH_PITR_SECONDS ?? 60),
  rate: Number(process.env.BENCH_PITR_RATE ?? 100),
  clients: 2,
};
/** Where in the load the restore target falls: late enough for a long replay, before its end. */
const TARGET_AT = 0.7;
const SAMPLE_EVERY_MS = 200;

const log = (line: string) => console.error(`[bench:pitr] ${line}`);

async function main(cleanup: Cleanup): Promise<void> {
  const pgbackrestVersion = await ensurePgBackRest(log);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-bench-pitr-'));
  await fs.chmod(dir, 0o755); // the servers run as postgres and read below it
  cleanup.add('remove the bench directory', () => fs.rm(dir, { recursive: true, force: true }));
  const temporal = await startDevServer({ log });
  cleanup.add('stop the Temporal dev server', () => temporal.stop());
  const runAs = serverUser();

  log(`source: initdb, pgbench -i -s ${SCALE}`);
  const source = await startBenchSource(path.join(dir, 'source'), SCALE);
  cleanup.add('stop the source', () => source.stop());
  const bytes = await clusterBytes(source);
  const [{ server_version: version }] = await query<{ server_version: string }>(
    source.store,
    'SHOW server_version',
  );

  log('pgBackRest: stanza, archiving on (restart), full backup');
  const pgbackrest = await PgBackRest.setUp(path.join(dir, 'pgbackrest'), source, runAs);
  const pgbackrestBase = await pgbackrest.fullBackup();

  const { host, port, user, database } = source.store;
  const client = new Client({ host, port, user, database });
  await client.connect();
  cleanup.add('close the sampling connection', () => client.end());
  // Lazarus starts after the sampler: its durable point is read once it exists.
  const started: { lazarus?: LazarusSide } = {};
  const sampler = new RpoSampler(
    client,
    {
      pgbackrest: () => pgbackrest.durableOffset(client),
      lazarus: async () => started.lazarus?.durableOffset(),
    },
    SAMPLE_EVERY_MS,
  );
  // The head history begins while pgBackRest holds everything (its backup's end archived).
  sampler.start();
  cleanup.add('stop sampling', () => sampler.stop());

  log('Lazarus: worker, pitr start, base');
  const lazarus = await LazarusSide.start(path.join(dir, 'lazarus'), source, {
    address: temporal.address,
    taskQueue: 'bench-pitr',
  });
  cleanup.add('stop Lazarus capture and its worker', () => lazarus.shutdown());
  started.lazarus = lazarus;
  const lazarusBase = await lazarus.startCapture();

  log(`load: pgbench -T ${LOAD.seconds} -R ${LOAD.rate} -c ${LOAD.clients}, both capturing`);
  sampler.record(true);
  const loadStarted = Date.now();
  const load = await runLoad(source, LOAD);
  sampler.record(false);
  const target = new Date(loadStarted + LOAD.seconds * 1000 * TARGET_AT).toISOString();
  log('waiting until both hold the whole load (pgBackRest: the next archive_timeout)');
  await bothDurable(sampler, sampler.headNow(), (PGBACKREST_SETTINGS.archiveTimeoutSeconds + 30) * 1000);
  await sampler.stop();
  const captureUploads = await lazarus.stopCapture(temporal.client);
  const expectedRows = await historyRowsAt(source, target);

  log(`restore to ${target}: pgBackRest`);
  const countSql = 'SELECT count(*) AS n FROM pgbench_history';
  const pgbackrestRestore = await pgbackrest.restoreTo(target, countSql, DATABASE);
  log(`restore to ${target}: lazarus drill`);
  const lazarusRestore = await lazarus.drill(target);
  // Each upload stored the growing file's changed chunks again: prune frees the superseded ones.
  const lazarusBeforePrune = await storedBytes(lazarus.repoDir);
  await lazarus.prune();

  const result = summary({
    context: {
      bench: 'pitr',
      postgres: version,
      pgbackrestVersion,
      pgbackrestSettings: PGBACKREST_SETTINGS,
      load: { scale: SCALE, ...LOAD, transactions: load.transactions },
      target,
      sampleEveryMs: SAMPLE_EVERY_MS,
      lateSamples: sampler.late,
      failedReads: sampler.failedReads,
      lazarusCaptureUploads: captureUploads ?? null,
      lazarusStoredBeforePrune: lazarusBeforePrune,
      pgbackrestRepoBytes: {
        backup: await storedBytes(path.join(pgbackrest.repoDir, 'backup')),
        archive: await storedBytes(path.join(pgbackrest.repoDir, 'archive')),
      },
      notes: [
        'RPO: age of the first WAL byte not yet durable in the repository, vs pg_current_wal_lsn; pgBackRest durable = end of pg_stat_archiver.last_archived_wal',
        'restoreSeconds: to the recovered server promoted and its pgbench_history counted (Lazarus: the restore activity: download, replay on a scratch server, validator); restoreWallSeconds: pgBackRest plus stop and removal, Lazarus the whole `lazarus drill --at` command',
        'storedBytes: du -sb of the repository directory after the run (Lazarus: after `lazarus prune`, which frees the superseded versions of the growing log files; before it: lazarusStoredBeforePrune)',
      ],
    },
    clusterBytes: bytes,
    expectedRows,
    pgbackrest: {
      baseSeconds: pgbackrestBase.seconds,
      lags: sampler.lagsOf('pgbackrest'),
      restoreSeconds: pgbackrestRestore.countedSeconds,
      restoreWallSeconds: pgbackrestRestore.totalSeconds,
      restoredRows: pgbackrestRestore.rows,
      storedBytes: await storedBytes(pgbackrest.repoDir),
    },
    lazarus: {
      baseSeconds: lazarusBase.seconds,
      lags: sampler.lagsOf('lazarus'),
      restoreSeconds: lazarusRestore.activitySeconds,
      restoreWallSeconds: lazarusRestore.wallSeconds,
      restoredRows: lazarusRestore.rows,
      storedBytes: await storedBytes(lazarus.repoDir),
    },
  });
  console.error(humanTable(result));
  console.log(JSON.stringify(result));
}

/** Waits until every tool's durable point has reached `offset`. */
async function bothDurable(sampler: RpoSampler, offset: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (const name of ['pgbackrest', 'lazarus']) {
    while ((sampler.durableOf(name) ?? 0) < offset) {
      if (Date.now() > until)
        throw new Error(`${name} did not hold the load's WAL within ${timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

async function storedBytes(dir: string): Promise<number> {
  const out = await check('du', ['-sb', dir]);
  return Number(out.stdout.split(/\s/)[0]);
}

const cleanup = new Cleanup();
process.once('SIGINT', () => void cleanup.run().finally(() => process.exit(130)));
main(cleanup)
  .catch((err: Error) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => cleanup.run());
