/** The stored histories of real runs replay against the current workflow code. */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import * as workflows from '../workflows';
import { historyFile, replayHistories } from '../worker/replay';
import { lazarus } from './support/cli';
import * as stores from './support/stores';
import { cliWorker, killHard } from './support/worker-process';

const root = path.join(__dirname, 'fixtures', 'histories');
const recordings = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory());
const files = (dir: string) =>
  readdirSync(path.join(root, dir))
    .filter((f) => f.endsWith('.json'))
    .map((f) => path.join(root, dir, f));

test.each(recordings.map((d) => d.name))('every history recorded in %s replays', async (dir) => {
  const outcomes = await replayHistories(files(dir).map(historyFile));
  expect(outcomes.length).toBe(files(dir).length);
  for (const outcome of outcomes) expect(outcome).toMatchObject({ ok: true });
});

test('the newest recording covers every workflow type the worker registers', () => {
  const types = Object.entries(workflows)
    .filter(([, value]) => typeof value === 'function')
    .map(([name]) => name)
    .sort();
  // issue-13 after issue-5: numbers compare as numbers.
  const newest = recordings
    .map((d) => d.name)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .at(-1)!;
  // restorePartition-2.json is a second child of the same type.
  const recorded = new Set(files(newest).map((f) => path.basename(f, '.json').replace(/-\d+$/, '')));
  expect([...recorded].sort()).toEqual(types);
});

test('a change that breaks runs in flight is reported as non-deterministic', async () => {
  const backup = files('issue-5').filter((f) => f.endsWith('backupApplication.json'));
  const [outcome] = await replayHistories(backup.map(historyFile), {
    workflowsPath: require.resolve('./support/changed-workflows'),
  });
  expect(outcome).toMatchObject({ ok: false, nonDeterministic: true });
  expect(outcome.error).toMatch(/[Nn]ondeterminism|activity type/);
});

test('lazarus replay --file reports each history and exits 0; bad input exits 2', () => {
  const run = lazarus(['replay', '--file', ...files('issue-5'), '--json']);
  expect(run.code).toBe(0);
  const outcomes = JSON.parse(run.stdout) as { workflowId: string; ok: boolean }[];
  expect(outcomes.map((o) => o.workflowId)).toContain('adapt/history');
  expect(outcomes.every((o) => o.ok)).toBe(true);
  expect(lazarus(['replay'])).toMatchObject({ code: 2, stderr: expect.stringContaining('give one of') });
});

test('lazarus replay fetches a run by ID, or many by query, from the server', async () => {
  const { worker, env } = await cliWorker('replay');
  try {
    const dir = stores.tempDir();
    stores.sqliteWithRows(path.join(dir, 'orders.db'), 50);
    const manifest = await stores.writeManifest(dir, {
      app: 'replayed',
      services: { orders: { datastore: { kind: 'sqlite', path: 'orders.db' } } },
    });
    for (let i = 0; i < 2; i++) expect(lazarus(['backup', manifest], env).code).toBe(0);
    const byQuery = lazarus(['replay', '--query', 'LazarusApp="replayed"', '--json'], env);
    expect(byQuery.code).toBe(0);
    const outcomes = JSON.parse(byQuery.stdout) as { workflowId: string; ok: boolean }[];
    expect(outcomes).toHaveLength(2);
    expect(outcomes.every((o) => o.ok && o.workflowId.startsWith('backup/replayed/'))).toBe(true);
    const one = lazarus(['replay', outcomes[0].workflowId], env);
    expect(one).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('1 histories replay with this code'),
    });
    expect(lazarus(['replay', '--query', 'LazarusApp="nothing-here"'], env)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('no run matches'),
    });
  } finally {
    await killHard(worker);
  }
});
