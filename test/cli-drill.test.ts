/** drill, report, the drill schedule, and approve, as a user runs them from the shell. */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { lazarus } from './support/cli';
import * as stores from './support/stores';
import { triggerSchedule } from './support/temporal';
import { useCliWorker } from './support/worker-process';
import type { DrillReport } from '../workflows/drill-report';

const { env, client } = useCliWorker('cli-drill');
let dir: string;
let manifest: string;

beforeAll(async () => {
  dir = stores.tempDir();
  stores.sqliteWithRows(path.join(dir, 'users.db'), 300);
  manifest = await stores.writeManifest(dir, {
    app: 'clidrill',
    services: {
      users: {
        tier: 'critical',
        datastore: { kind: 'sqlite', path: 'users.db' },
        validate: [{ row_count: { table: 'items', min: 300 } }],
      },
      web: { depends_on: ['users'], validate: [{ command: 'true' }] },
    },
  });
  expect(lazarus(['backup', manifest], env).code).toBe(0);
});

test('drill prints RTO and RPO, exits 0, and report writes the JSON and an HTML page with graph and timeline', async () => {
  const drill = lazarus(['drill', manifest, '--json'], env);
  expect(drill.code).toBe(0);
  const report = JSON.parse(drill.stdout) as DrillReport;
  expect(report).toMatchObject({ kind: 'drill', app: 'clidrill', outcome: 'succeeded' });
  expect(report.services.users.rto?.met).toBe(true);

  const out = path.join(dir, 'reports');
  const written = lazarus(['report', report.workflowId, '--out', out], env);
  expect(written.code).toBe(0);
  const [htmlFile, jsonFile] = written.stdout.trim().split('\n');
  expect(JSON.parse(await fs.readFile(jsonFile, 'utf8'))).toEqual(report);
  const html = await fs.readFile(htmlFile, 'utf8');
  expect(html).toContain('aria-label="dependency graph"');
  expect(html).toContain('aria-label="restore timeline"');
  expect(html).toMatch(/RTO \(application\)<b class="met">/);

  // The repository keeps the report too, for when the run's history has expired.
  const kept = lazarus(['report', report.workflowId, '--manifest', manifest, '--json'], env);
  expect(JSON.parse(kept.stdout)).toEqual(report);

  const text = lazarus(['drill', manifest], env);
  expect(text.stdout).toMatch(/drill of clidrill, backup \S+: passed\n/);
  expect(text.stdout).not.toContain('nothing checked');
  expect(text.stdout).toMatch(/RTO [\d.]+ (ms|s) \(target 15\.0 min, met\)/);
});

test('a drill whose services declare no validators says it checked nothing, in its output and its report', async () => {
  const bareDir = stores.tempDir();
  stores.sqliteWithRows(path.join(bareDir, 'notes.db'), 20);
  const bare = await stores.writeManifest(bareDir, {
    app: 'clidrillbare',
    services: { notes: { datastore: { kind: 'sqlite', path: 'notes.db' } } },
  });
  expect(lazarus(['backup', bare], env).code).toBe(0);
  const text = lazarus(['drill', bare], env);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/drill of clidrillbare, backup \S+: restored, nothing checked\n/);
  expect(text.stdout).toContain('restored, nothing checked: add `validate` to the manifest for notes');
  expect(text.stdout).not.toMatch(/: passed/);
  expect(text.stdout).toMatch(/notes\s+succeeded.*\bnone\b/);

  const report = JSON.parse(lazarus(['drill', bare, '--json'], env).stdout) as DrillReport;
  expect(report.unchecked).toEqual(['notes']);
  const out = path.join(bareDir, 'reports');
  const [htmlFile] = lazarus(['report', report.workflowId, '--out', out], env).stdout.trim().split('\n');
  const html = await fs.readFile(htmlFile, 'utf8');
  expect(html).toContain('restored, nothing checked: add `validate` to the manifest for notes');
});

test('report refuses a run that is not a drill; drill refuses an unsafe sandbox before starting (exit 2)', async () => {
  const backup = JSON.parse(lazarus(['backup', manifest, '--json'], env).stdout) as { workflowId: string };
  const notDrill = lazarus(['report', backup.workflowId], env);
  expect(notDrill.code).toBe(2);
  expect(notDrill.stderr).toContain('is not a drill');

  const unsafeDir = stores.tempDir();
  const unsafe = await stores.writeManifest(unsafeDir, {
    app: 'unsafe',
    services: { cache: { datastore: { kind: 'redis', db: 3 } } },
  });
  const refused = lazarus(['drill', unsafe], env);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('services.cache.datastore.sandbox_db is not set');
});

test('drill --every schedules drills on a Temporal Schedule; a triggered one runs; --unschedule removes it', async () => {
  const scheduled = lazarus(['drill', manifest, '--every', '1d'], env);
  expect(scheduled.code).toBe(0);
  expect(scheduled.stdout).toContain('created schedule drill/clidrill: a drill every 1.0 d');
  const handle = client.schedule.getHandle('drill/clidrill');
  const runId = await triggerSchedule(client, 'drill/clidrill');
  expect(runId).toMatch(/^drill\/clidrill\/scheduled-/);
  const report = (await client.workflow.getHandle(runId).result()) as DrillReport;
  expect(report.outcome).toBe('succeeded');

  expect(lazarus(['drill', manifest, '--unschedule'], env).code).toBe(0);
  await expect(handle.describe()).rejects.toThrow();
});

test('a restore over the originals waits for `lazarus approve`', async () => {
  const started = lazarus(['restore', manifest, '--no-wait', '--json'], env);
  expect(started.code).toBe(0);
  const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };
  expect(started.stderr).toContain(
    `${workflowId} waits for approval (up to 1h) to restore users in place:\n` +
      `  lazarus approve '${workflowId}'\n  lazarus reject '${workflowId}' --reason '...'\n`,
  );
  // Not a drill and not waiting: approving something else is refused.
  expect(lazarus(['approve', 'restore/nope'], env).code).toBe(2);
  let approved = lazarus(['approve', workflowId], env);
  for (let i = 0; i < 50 && approved.code !== 0; i++) {
    await new Promise((r) => setTimeout(r, 200)); // until the run reaches its approval wait
    approved = lazarus(['approve', workflowId], env);
  }
  expect(approved.stdout).toContain(`approved: ${workflowId}`);
  const result = (await client.workflow.getHandle(workflowId).result()) as { outcome: string };
  expect(result.outcome).toBe('succeeded');
  expect(existsSync(path.join(dir, 'users.db'))).toBe(true);
});
