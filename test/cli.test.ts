/** The lazarus command as a user runs it, against the test server and a worker process. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { lazarus, startLazarus } from './support/cli';
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
  await fs.writeFile(path.join(dir, 'not-a-directory'), 'x');
  const partial = lazarus(
    [
      'restore',
      manifest,
      '--yes',
      '--json',
      '--target',
      `users=${path.join(dir, 'not-a-directory', 'x.db')}`, // below a regular file: ENOTDIR
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

test('--target: never production or the repository (exit 2); relative to the manifest; approved like any restore', async () => {
  const refused = (...args: string[]) => lazarus(['restore', manifest, '--yes', ...args], env);
  const at = (file: string) => path.join(dir, file);
  // Relative targets resolve against the manifest's directory, so users.db is users's own file.
  expect(refused('--target', 'users=users.db')).toMatchObject({
    code: 2,
    stderr: expect.stringContaining(`users=${at('users.db')} is users's own data`),
  });
  expect(refused('--target', 'users=files/users.db').stderr).toContain(
    `users=${at('files/users.db')} would overwrite files's data`,
  );
  expect(refused('--target', 'users=.lazarus/repo/users.db').stderr).toContain(
    `users=${at('.lazarus/repo/users.db')} overlaps the repository ${at('.lazarus/repo')}`,
  );
  expect(refused('--target', 'users=copy.db', '--target', 'files=copy.db').stderr).toContain(
    `users=${at('copy.db')} and files=${at('copy.db')} would overwrite each other`,
  );
  expect(refused('--services', 'users', '--target', 'files=files-copy').stderr).toContain(
    'files is not restored by this command',
  );

  // Without --yes it waits, and says how to approve or reject, once it does.
  const args = ['restore', manifest, '--services', 'users', '--target', 'users=users-copy.db', '--json'];
  const waiting = await startLazarus(args, " --reason '...'", env);
  const [, workflowId] = /lazarus approve '([^']+)'/.exec(waiting.printed())!;
  expect(waiting.printed()).toContain(
    `${workflowId} waits for approval (up to 1h) to restore users into ${at('users-copy.db')}:\n` +
      `  lazarus approve '${workflowId}'\n  lazarus reject '${workflowId}' --reason '...'\n`,
  );
  const exited = new Promise((resolve) => waiting.once('exit', resolve));
  expect(lazarus(['approve', workflowId], env).code).toBe(0);
  expect(await exited).toBe(0);
  expect(await stores.fingerprint({ kind: 'sqlite', path: at('users-copy.db') })).toBe(
    await stores.fingerprint({ kind: 'sqlite', path: at('users.db') }),
  );

  // Now it holds data: not replaced unless asked.
  const again = ['restore', manifest, '--yes', '--services', 'users', '--target', 'users=users-copy.db'];
  const occupied = lazarus(again, env);
  expect(occupied.code).toBe(1);
  expect(occupied.stderr).toContain(
    `--target users=${at('users-copy.db')} already holds data; nothing was changed: restore into a new or empty target, or pass --replace-target`,
  );
  expect(lazarus([...again, '--replace-target'], env).code).toBe(0);
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
