/** verify (here, as a workflow, on a schedule) and cost, as a user runs them from the shell. */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { CostReport } from '../repository/maintenance/cost';
import type { VerifyReport } from '../repository/maintenance/verify';
import { lazarus } from './support/cli';
import { flipBit, packFiles } from './support/repository';
import * as stores from './support/stores';
import { triggerSchedule } from './support/temporal';
import { useCliWorker } from './support/worker-process';

const { env, client } = useCliWorker('cli-repo', { LAZARUS_PASSWORD: 'cli repository test' });
let dir: string;
let manifest: string;

beforeAll(async () => {
  dir = stores.tempDir();
  stores.sqliteWithRows(path.join(dir, 'users.db'), 2000);
  await stores.directoryWithFiles(path.join(dir, 'files'), 20, 40_000);
  manifest = await stores.writeManifest(dir, {
    app: 'clirepo',
    services: {
      users: { tier: 'critical', datastore: { kind: 'sqlite', path: 'users.db' } },
      files: { datastore: { kind: 'directory', path: 'files' } },
    },
    cost: { per_gb_month: 20, per_gb_transfer: 10 },
  });
  for (let i = 0; i < 2; i++) expect(lazarus(['backup', manifest], env).code).toBe(0);
});

test('cost: a second backup of unchanged data adds almost nothing; ratios and the monthly estimate add up', () => {
  const run = lazarus(['cost', manifest, '--json'], env);
  expect(run.code).toBe(0);
  const report = JSON.parse(run.stdout) as CostReport;
  const [first, second] = report.backups;
  expect(first.logicalBytes).toBeGreaterThan(800_000);
  expect(second.logicalBytes).toBe(first.logicalBytes);
  expect(second.storedBytes).toBeLessThan(first.storedBytes / 20); // only what changed (the SQLite header, say)
  expect(report.repository.dedupRatio).toBeGreaterThan(1.8);
  expect(report.repository.compressionRatio).toBeGreaterThan(1);
  expect(Object.keys(report.services).sort()).toEqual(['files', 'users']);
  const sum = (key: 'storedBytes' | 'logicalBytes') =>
    Object.values(report.services).reduce((n, s) => n + s[key], 0);
  expect(sum('storedBytes')).toBe(report.repository.storedBytes);
  expect(sum('logicalBytes')).toBe(report.repository.logicalBytes);
  const storage = (report.repository.packBytes / 1e9) * 20;
  expect(report.month.storage).toBeCloseTo(storage, 2);
  expect(report.month.uploadedBytes).toBe(first.storedBytes + second.storedBytes);

  const table = lazarus(['cost', manifest, '--per-gb-month', '0.01'], env);
  expect(table.stdout).toMatch(/dedup \d+(\.\d+)?x, compression \d+(\.\d+)?x/);
  expect(table.stdout).toContain('$0.01/GB-month');
  expect(lazarus(['cost', manifest, '--per-gb-month', 'cheap'], env).stderr).toContain(
    '--per-gb-month: write a price such as 0.023',
  );
});

test('verify --on-worker runs as a workflow; --every schedules it; a triggered run finds the damage', async () => {
  const onWorker = lazarus(['verify', manifest, '--read-data', '--on-worker', '--json'], env);
  expect(onWorker.code).toBe(0);
  const report = JSON.parse(onWorker.stdout) as VerifyReport;
  expect(report).toMatchObject({ backups: 2, snapshots: expect.any(Number), problems: [] });
  expect(report.packsRead).toBe(report.packs);

  const scheduled = lazarus(['verify', manifest, '--read-data', '--subset', '50%', '--every', '7d'], env);
  expect(scheduled.stdout).toContain('created schedule verify/clirepo: a verify every 7.0 d');
  const packs = await packFiles(path.join(dir, '.lazarus', 'repo'));
  for (const pack of packs) await flipBit(pack, 40);
  const runId = await triggerSchedule(client, 'verify/clirepo');
  expect(runId).toMatch(/^verify\/clirepo\/scheduled-/);
  const scheduledReport = (await client.workflow.getHandle(runId).result()) as VerifyReport;
  expect(scheduledReport.packsRead).toBe(Math.ceil(scheduledReport.packs / 2));
  expect(scheduledReport.problems.length).toBeGreaterThan(0);
  expect(lazarus(['verify', manifest, '--unschedule'], env).code).toBe(0);
  expect(lazarus(['verify', manifest, '--subset', '150%'], env).stderr).toContain(
    '--subset 150%: write a share of the packs such as 10% or 2.5%',
  );
});

test('no command but backup creates a repository: a mistyped repository.path is an error, and verify exits 3', async () => {
  const typo = path.join(dir, 'repo-typo');
  const file = await stores.writeManifest(stores.tempDir('lz_input_missing-'), {
    app: 'clirepo',
    repository: { path: typo },
    services: { users: { datastore: { kind: 'sqlite', path: path.join(dir, 'users.db') } } },
  });
  const missing = `${file}: no Lazarus repository at ${typo} (no "config" there): check repository.path, or run "lazarus backup" to create the repository`;
  expect(lazarus(['verify', file], env)).toMatchObject({
    code: 3,
    stdout: '',
    stderr: `lazarus: ${missing}\n`,
  });
  for (const args of [['backups'], ['cost'], ['forget'], ['prune'], ['hold']])
    expect(lazarus([...args, file], env)).toMatchObject({ code: 2, stderr: `lazarus: ${missing}\n` });
  expect(existsSync(typo)).toBe(false);

  // Not on this machine, it may be mounted on the workers only: they refuse it, creating nothing.
  const restore = lazarus(['restore', file, '--yes'], env);
  expect(restore.code).toBe(1);
  expect(restore.stderr).toContain(
    `no Lazarus repository at ${typo} (no "config" there): check repository.path`,
  );
  expect(lazarus(['drill', file], env).stderr).toContain(`no Lazarus repository at ${typo}`);
  expect(existsSync(typo)).toBe(false);
  // A directory here that holds no repository is refused before anything starts.
  mkdirSync(typo);
  for (const command of [['restore', '--yes'], ['drill']])
    expect(lazarus([...command, file], env)).toMatchObject({
      code: 2,
      stderr: `lazarus: ${missing}\n`,
    });
  expect(readdirSync(typo)).toEqual([]);

  expect(lazarus(['backup', file], env).code).toBe(0); // the one command that creates it
  expect(lazarus(['verify', file], env)).toMatchObject({
    code: 0,
    stdout: expect.stringContaining('No problems found.'),
  });
});
