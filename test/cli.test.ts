/** The lazarus command as a user runs it, against the test server and a worker process. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { lazarus } from './support/cli';
import { flipBit, packFiles } from './support/repository';
import * as stores from './support/stores';
import { waitFor } from './support/temporal';
import { useCliWorker } from './support/worker-process';

const { env } = useCliWorker('cli');
let dir: string;
let manifest: string;

beforeAll(async () => {
  dir = stores.tempDir();
  stores.sqliteWithRows(path.join(dir, 'users.db'), 500);
  await stores.directoryWithFiles(path.join(dir, 'files'), 5, 1000);
  manifest = await stores.writeManifest(dir, {
    app: 'clitest',
    services: {
      users: { datastore: { kind: 'sqlite', path: 'users.db' } },
      files: { depends_on: ['users'], datastore: { kind: 'directory', path: 'files' } },
      web: { depends_on: ['files'] },
    },
  });
});

test('backup --json, backups, restore --json, runs and show', async () => {
  const backup = lazarus(['backup', manifest, '--json'], env);
  expect(backup.code).toBe(0);
  const b = JSON.parse(backup.stdout);
  expect(b).toMatchObject({
    app: 'clitest',
    outcome: 'succeeded',
    workflowId: expect.stringMatching(/^backup\/clitest\//),
  });

  const list = JSON.parse(lazarus(['backups', manifest, '--json'], env).stdout);
  expect(list.map((e: { id: string }) => e.id)).toEqual([b.backupId]);

  await fs.rm(path.join(dir, 'users.db'));
  const restore = lazarus(['restore', manifest, '--yes', '--json', '--services', 'users'], env);
  expect(restore.code).toBe(0);
  const r = JSON.parse(restore.stdout);
  expect(r).toMatchObject({
    backupId: b.backupId,
    outcome: 'succeeded',
    services: { users: { status: 'succeeded' } },
  });
  expect(Object.keys(r.services)).toEqual(['users']);

  const runs = JSON.parse(lazarus(['runs', '--app', 'clitest', '--json'], env).stdout);
  expect(runs.map((x: { workflowId: string }) => x.workflowId).sort()).toEqual(
    [b.workflowId, r.workflowId].sort(),
  );
  const onlyBackups = JSON.parse(
    lazarus(['runs', '--app', 'clitest', '--kind', 'backup', '--json'], env).stdout,
  );
  expect(onlyBackups.map((x: { workflowId: string }) => x.workflowId)).toEqual([b.workflowId]);

  const show = lazarus(['show', r.workflowId], env);
  expect(show.code).toBe(0);
  expect(show.stdout).toMatch(/COMPLETED[\s\S]*users\s+succeeded/);
});

test('a failed restore exits 1; bad input exits 2 before anything starts', async () => {
  const partial = lazarus(
    [
      'restore',
      manifest,
      '--yes',
      '--json',
      '--target',
      `users=${path.join(dir, 'files', 'part-0', 'file-0.bin', 'x.db')}`,
    ],
    env,
  );
  expect(partial.code).toBe(1);
  const failed = JSON.parse(partial.stdout);
  expect(failed).toMatchObject({
    outcome: 'failed',
    services: { users: { status: 'failed' }, files: { status: 'skipped' }, web: { status: 'skipped' } },
  });
  // runs --failed finds it (visibility is eventually consistent), and only the failed runs.
  const failedRuns = () =>
    JSON.parse(lazarus(['runs', '--app', 'clitest', '--failed', '--json'], env).stdout);
  await waitFor(async () =>
    failedRuns().some((r: { workflowId: string }) => r.workflowId === failed.workflowId),
  );
  for (const run of failedRuns())
    expect(run.outcome === 'succeeded' && run.status === 'COMPLETED').toBe(false);

  const unknown = lazarus(['restore', manifest, '--services', 'ghost'], env);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toBe('lazarus: --services: unknown service ghost; known: users, files, web\n');
  // An empty list is not "every service": that would restore them all over production.
  for (const [list, fault] of [
    ['', 'names no service'],
    [' , ', 'names no service'],
    ['users,', 'has an empty name'],
  ])
    expect(lazarus(['restore', manifest, '--yes', '--services', list], env)).toMatchObject({
      code: 2,
      stderr: `lazarus: --services ${JSON.stringify(list)}: ${fault}; name one or more of users, files, web, comma-separated, or leave --services out for all of them\n`,
    });
  const badTarget = lazarus(['restore', manifest, '--target', 'nobody'], env);
  expect(badTarget.code).toBe(2);
  expect(badTarget.stderr).toContain('expected service=target');
  const noBackup = lazarus(['restore', manifest, '--backup', '20200101T000000.000Z', '--json'], env);
  expect(noBackup.code).toBe(2);
  expect(noBackup.stderr).toBe(
    'lazarus: no backup "20200101T000000.000Z" of application "clitest" in the repository\n',
  );
  // An ID that is not one never reaches a repository key (catalog/<app>/<id>.json) or a run.
  for (const command of ['restore', 'drill'])
    expect(lazarus([command, manifest, '--backup', '../../etc'], env)).toMatchObject({
      code: 2,
      stderr:
        'lazarus: --backup "../../etc" is not a backup ID: IDs read like 20261121T100000.000Z; `lazarus backups <manifest>` lists them\n',
    });
  const noServer = lazarus(['backup', manifest], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  expect(noServer.code).toBe(2);
  expect(noServer.stderr).toMatch(/cannot reach the Temporal server at 127.0.0.1:1[\s\S]*lazarus dev/);
});

test('verify exits 0 on a sound repository; --read-data exits 3 naming the damaged backup and service', async () => {
  const ok = lazarus(['verify', manifest], env);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toContain('No problems found.');

  const [pack] = await packFiles(path.join(dir, '.lazarus', 'repo'));
  await flipBit(pack);
  expect(lazarus(['verify', manifest], env).code).toBe(0); // the structure is intact
  const bad = lazarus(['verify', manifest, '--read-data', '--json'], env);
  expect(bad.code).toBe(3);
  const report = JSON.parse(bad.stdout);
  expect(report.problems).toHaveLength(1);
  expect(report.problems[0]).toMatchObject({
    subject: expect.stringMatching(/^blob \w+ in pack \w+$/),
    problem: expect.stringMatching(/damaged|authentication failed/),
  });
  expect(report.problems[0].affects[0]).toMatchObject({
    app: 'clitest',
    service: expect.stringMatching(/users|files/),
  });
});
