/** Tier schedules and the adaptive scheduler, driven from the shell against the dev server. */
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import path from 'node:path';
import { stringify } from 'yaml';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../activities';
import { workerActivityDeps } from '../worker/activity-deps';
import { type AdaptiveBounds, proposeInterval, storeRate } from '../model/adaptive';
import type { IntervalChange } from '../workflows/adaptive';
import { lazarus } from './support/cli';
import * as stores from './support/stores';
import { waitFor } from './support/temporal';
import { useCliWorker } from './support/worker-process';

const { env, client } = useCliWorker('schedules');

/** An app with a critical SQLite store and a standard directory, in a fresh directory. */
async function app(name: string, tiers: unknown, fileTier = 'standard') {
  const dir = stores.tempDir();
  stores.sqliteWithRows(path.join(dir, 'orders.db'), 500);
  await stores.directoryWithFiles(path.join(dir, 'files'), 5, 10_000);
  const manifest = { app: name, tiers, services: services(fileTier) };
  return { dir, file: await stores.writeManifest(dir, manifest), manifest };
}

function services(fileTier: string) {
  return {
    web: { tier: 'critical', depends_on: ['orders', 'files'] },
    orders: { tier: 'critical', datastore: { kind: 'sqlite', path: 'orders.db' } },
    files: { tier: fileTier, datastore: { kind: 'directory', path: 'files' } },
  };
}

function churn(file: string): void {
  const db = new Database(file);
  db.exec('CREATE TABLE churn (payload BLOB)');
  const insert = db.prepare('INSERT INTO churn VALUES (?)');
  for (let i = 0; i < 3000; i++) insert.run(randomBytes(100));
  db.close();
}

function json<T>(args: string[]): T {
  const run = lazarus([...args, '--json'], env);
  if (run.code !== 0) throw new Error(`lazarus ${args.join(' ')}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

type Applied = { id: string; change: string }[];
const changes = (applied: Applied) => Object.fromEntries(applied.map((a) => [a.id, a.change]));

test('apply creates a schedule per tier, twice changes nothing, and a tier that goes takes its schedules', async () => {
  const tiers = { critical: { backup: { every: '1h' }, drill: { cron: '0 3 * * 0' } }, standard: {} };
  const { file, manifest } = await app('tiered', tiers);
  expect(changes(json<Applied>(['schedule', 'apply', file]))).toEqual({
    'backup/tiered/critical': 'created',
    'backup/tiered/standard': 'created',
    'drill/tiered/critical': 'created',
    'adapt/tiered': 'unchanged',
  });
  const before = await client.schedule.getHandle('backup/tiered/critical').describe();
  expect(Object.values(changes(json<Applied>(['schedule', 'apply', file])))).toEqual([
    'unchanged',
    'unchanged',
    'unchanged',
    'unchanged',
  ]);
  const after = await client.schedule.getHandle('backup/tiered/critical').describe();
  expect(after.info.lastUpdatedAt).toEqual(before.info.lastUpdatedAt);

  // The default backup cadence is the tier's RPO (standard: 24h); policies are set.
  const standard = await client.schedule.getHandle('backup/tiered/standard').describe();
  expect(Number(standard.spec.intervals?.[0].every)).toBe(86_400_000);
  expect(standard.policies).toMatchObject({
    overlap: 'SKIP',
    pauseOnFailure: true,
    catchupWindow: 86_400_000,
  });
  expect(standard.action).toMatchObject({ workflowType: 'backupApplication' });
  const critical = (before.action as { args: { spec: { services: object } }[] }).args[0];
  expect(Object.keys(critical.spec.services)).toEqual(['orders']); // web is stateless: nothing to back up

  const list = json<{ id: string; paused: boolean; nextRuns: string[] }[]>(['schedule', 'list', file]);
  expect(list.map((s) => s.id)).toEqual([
    'backup/tiered/critical',
    'backup/tiered/standard',
    'drill/tiered/critical',
  ]);
  for (const schedule of list) expect(Date.parse(schedule.nextRuns[0])).toBeGreaterThan(Date.now());
  expect(list.map((s) => (s as unknown as { when: string }).when)).toEqual([
    'every 1h',
    'every 1d',
    'on "0 3 * * 0"',
  ]);
  const drillNext = new Date(list[2].nextRuns[0]);
  expect([drillNext.getUTCDay(), drillNext.getUTCHours(), drillNext.getUTCMinutes()]).toEqual([0, 3, 0]);

  // Files move to critical: the standard tier has nothing left, so its schedule goes.
  writeFileSync(file, stringify({ ...manifest, services: services('critical') }));
  expect(changes(json<Applied>(['schedule', 'apply', file]))).toEqual({
    'backup/tiered/critical': 'updated',
    'drill/tiered/critical': 'updated',
    'backup/tiered/standard': 'removed',
    'adapt/tiered': 'unchanged',
  });
  expect(json<{ id: string }[]>(['schedule', 'list', file]).map((s) => s.id)).toEqual([
    'backup/tiered/critical',
    'drill/tiered/critical',
  ]);

  expect(json<{ paused: string[] }>(['schedule', 'pause', file, '--kind', 'drill']).paused).toEqual([
    'drill/tiered/critical',
  ]);
  const paused = json<{ id: string; paused: boolean; note?: string }[]>(['schedule', 'list', file]);
  expect(paused.map((s) => [s.id, s.paused])).toEqual([
    ['backup/tiered/critical', false],
    ['drill/tiered/critical', true],
  ]);
  expect(lazarus(['schedule', 'resume', file], env).code).toBe(0);
  expect(json<{ paused: boolean }[]>(['schedule', 'list', file]).every((s) => !s.paused)).toBe(true);
  expect(lazarus(['schedule', 'trigger', file, '--tier', 'archive'], env)).toMatchObject({
    code: 2,
    stderr: expect.stringContaining('no schedule of tiered matches'),
  });
  expect(lazarus(['schedule', 'pause', file, '--tier', 'gold'], env)).toMatchObject({
    code: 2,
    stderr: expect.stringContaining(
      '--tier gold: tiered has no such tier; its tiers: critical, standard, archive',
    ),
  });

  // A tier of the manifest's own gets its schedule; when the tier leaves the manifest, so does the schedule.
  const gold = { rto: '10m', rpo: '15m', retention: { hourly: 12 } };
  writeFileSync(file, stringify({ ...manifest, tiers: { ...tiers, gold }, services: services('gold') }));
  expect(changes(json<Applied>(['schedule', 'apply', file]))).toMatchObject({
    'backup/tiered/gold': 'created',
  });
  const listed = async () => {
    const ids: string[] = [];
    for await (const s of client.schedule.list()) ids.push(s.scheduleId);
    return ids;
  };
  await waitFor(async () => (await listed()).includes('backup/tiered/gold')); // visibility, as a user later
  writeFileSync(file, stringify({ ...manifest, services: services('critical') }));
  expect(changes(json<Applied>(['schedule', 'apply', file]))).toMatchObject({
    'backup/tiered/gold': 'removed',
  });
});

test('schedules really run: an interval starts backups, trigger and backfill start more', async () => {
  const { file } = await app('ticking', {
    critical: { backup: { every: '4s' } },
    standard: { backup: { every: '7d' } },
  });
  json(['schedule', 'apply', file]);
  const backups = () => json<{ id: string; services: Record<string, unknown> }[]>(['backups', file]);
  await waitFor(async () => backups().length >= 2, 60_000);
  const byInterval = backups();
  for (const backup of byInterval) expect(Object.keys(backup.services)).toEqual(['orders']);

  const runs = async (prefix: string, also = '') => {
    const ids: string[] = [];
    for await (const run of client.workflow.list({ query: `WorkflowId STARTS_WITH "${prefix}" ${also}` }))
      ids.push(run.workflowId);
    return ids;
  };
  expect(await runs('backup/ticking/standard')).toEqual([]);
  json(['schedule', 'trigger', file, '--tier', 'standard']);
  await waitFor(async () => (await runs('backup/ticking/standard')).length === 1, 60_000);
  // Backfill 10 s of a 4 s interval: runs for the two or three times missed, one after another.
  json(['schedule', 'pause', file, '--tier', 'critical']);
  const before = (await runs('backup/ticking/critical')).length;
  const from = new Date(Date.now() - 10_000).toISOString();
  const backfill = json<{ backfilled: string[] }>([
    'schedule',
    'backfill',
    file,
    '--tier',
    'critical',
    '--from',
    from,
    '--to',
    new Date().toISOString(),
  ]);
  expect(backfill.backfilled).toEqual(['backup/ticking/critical']);
  await waitFor(async () => (await runs('backup/ticking/critical')).length >= before + 2, 60_000);
  lazarus(['schedule', 'pause', file], env);
  const [standardRun] = await runs('backup/ticking/standard');
  expect(await client.workflow.getHandle(standardRun).result()).toMatchObject({ outcome: 'succeeded' });

  // Tiers are backed up apart: a restore takes the latest backup that holds what it needs.
  await waitFor(
    async () => (await runs('backup/ticking/critical', 'AND ExecutionStatus="Running"')).length === 0,
  );
  const restoreOrders = lazarus(['restore', file, '--services', 'orders', '--yes', '--json'], env);
  expect(restoreOrders.code).toBe(0);
  const latestCritical = backups()
    .filter((b) => b.services.orders)
    .at(-1)!;
  expect(JSON.parse(restoreOrders.stdout)).toMatchObject({
    backupId: latestCritical.id,
    outcome: 'succeeded',
  });
  // The whole application: no backup holds both, and the error says which parts to restore from which.
  const latestStandard = backups()
    .filter((b) => b.services.files)
    .at(-1)!;
  const whole = lazarus(['restore', file, '--yes'], env);
  expect(whole.code).toBe(2);
  expect(whole.stderr).toContain('no verified backup of "ticking" holds all of files, orders');
  expect(whole.stderr).toContain('restore them in parts, dependencies first: ');
  expect(whole.stderr).toContain(`--services files --backup ${latestStandard.id}`);
  expect(whole.stderr).toContain(`--services orders --backup ${latestCritical.id}`);
  const filesPart = [
    'restore',
    file,
    '--services',
    'files',
    '--backup',
    latestStandard.id,
    '--yes',
    '--json',
  ];
  expect(JSON.parse(lazarus(filesPart, env).stdout)).toMatchObject({ outcome: 'succeeded' });
  expect(standardRun).toMatch(/^backup\/ticking\/standard-\d{4}-\d\d-\d\dT/);
});

test('the adaptive scheduler moves busy tiers to their minimum and idle ones to their maximum, with reasons', async () => {
  const tiers = {
    critical: { backup: { every: '1h' }, adaptive: { min: '2m', max: '1h', at_risk: '64KiB' } },
    standard: { backup: { every: '1h' }, adaptive: { min: '10m', max: '6h' } },
  };
  const { dir, file } = await app('adaptive', tiers);
  const applied = changes(json<Applied>(['schedule', 'apply', file, '--check-every', '2s']));
  expect(applied['adapt/adaptive']).toBe('created');
  json(['schedule', 'pause', file]); // only the adaptive scheduler moves them here
  expect(lazarus(['backup', file], env).code).toBe(0);
  churn(path.join(dir, 'orders.db')); // orders changes; files stays idle
  expect(lazarus(['backup', file], env).code).toBe(0);

  const handle = client.workflow.getHandle('adapt/adaptive');
  await waitFor(async () => (await handle.query<IntervalChange[]>('intervalChanges')).length >= 2, 60_000);
  const made = await handle.query<IntervalChange[]>('intervalChanges');
  const critical = made.find((c) => c.scheduleId === 'backup/adaptive/critical')!;
  expect(critical).toMatchObject({ previousMs: 3_600_000, everyMs: 120_000 });
  expect(critical.reason).toMatch(/^orders changed .* held at the minimum: every 2\.0 min \(was 1\.0 h/);
  const standard = made.find((c) => c.scheduleId === 'backup/adaptive/standard')!;
  expect(standard).toMatchObject({ everyMs: 6 * 3_600_000 });
  expect(standard.reason).toMatch(/^no store changed since its last backup/);

  const list = json<{ id: string; everyMs: number; note: string }[]>(['schedule', 'list', file]);
  expect(list.map((s) => [s.id, s.everyMs])).toEqual([
    ['backup/adaptive/critical', 120_000],
    ['backup/adaptive/standard', 6 * 3_600_000],
  ]);
  expect(list[0].note).toContain('adaptive: orders changed');
  expect(lazarus(['schedule', 'list', file], env).stdout).toMatch(
    /adaptive scheduler adapt\/adaptive: running; last change backup\/adaptive\/(critical|standard): /,
  );
  // The changes stand: applying the same manifest again keeps them and the scheduler.
  expect(Object.values(changes(json<Applied>(['schedule', 'apply', file, '--check-every', '2s'])))).toEqual([
    'unchanged',
    'unchanged',
    'unchanged',
  ]);
  expect(json<{ everyMs: number }[]>(['schedule', 'list', file])[0].everyMs).toBe(120_000);

  // A schedule deleted behind its back is skipped, not retried forever.
  await client.schedule.getHandle('backup/adaptive/standard').delete();
  const checksBefore = (await handle.fetchHistory()).events?.length ?? 0;
  await waitFor(async () => ((await handle.fetchHistory()).events?.length ?? 0) > checksBefore + 8, 30_000);
  const pending = (await handle.describe()).raw.pendingActivities ?? [];
  expect(pending.every((a) => (a.attempt ?? 1) <= 1)).toBe(true);
  await handle.terminate('test over');
});

test('every backup records how much each store changed: new chunk bytes, and WAL growth', async () => {
  await stores.postgresWithRows('lazsched_orders', 2000);
  await stores.redisWithKeys(5, 200);
  const dir = stores.tempDir();
  const file = await stores.writeManifest(dir, {
    app: 'rates',
    services: {
      orders: { datastore: { kind: 'postgres', database: 'lazsched_orders' } },
      sessions: { datastore: { kind: 'redis', db: 5 } },
    },
  });
  expect(lazarus(['backup', file], env).code).toBe(0);
  await stores.postgresQuery(
    'lazsched_orders',
    "INSERT INTO accounts SELECT g, 'new-' || g, g, '{}' FROM generate_series(10001, 14000) g",
  );
  await stores.redisWithKeys(5, 400);
  expect(lazarus(['backup', file], env).code).toBe(0);

  type Change = { bytes: number; sinceMs?: number; logBytes?: number };
  const [first, second] = json<{ services: Record<string, { change: Change; position: string }> }[]>([
    'backups',
    file,
  ]);
  expect(first.services.orders.change).toEqual({ bytes: expect.any(Number) }); // nothing to compare with yet
  expect(first.services.orders.position).toMatch(/^lsn [0-9A-F]+\/[0-9A-F]+$/);
  const orders = second.services.orders.change;
  expect(orders.sinceMs).toBeGreaterThan(0);
  expect(orders.bytes).toBeGreaterThan(50_000); // 4000 new rows in the dump
  expect(orders.logBytes).toBeGreaterThan(200_000); // and their WAL
  // A lone Redis server's replication offset stays 0: its churn shows in the dump's changed chunks.
  const sessions = second.services.sessions.change;
  expect(sessions.logBytes).toBeUndefined();
  expect(sessions.bytes).toBeGreaterThan(5_000);
});

test('proposals always stay within the bounds, whatever the change rates', () => {
  let seed = 7;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  for (let i = 0; i < 2000; i++) {
    const minMs = Math.ceil(random() * 3_600_000) + 1000;
    const bounds: AdaptiveBounds = {
      minMs,
      maxMs: minMs + Math.ceil(random() * 86_400_000),
      atRiskBytes: 1 + Math.floor(random() * 1e9),
    };
    const observations = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, n) => ({
      service: `s${n}`,
      bytes: random() < 0.2 ? 0 : Math.floor(random() * 1e10),
      sinceMs: Math.ceil(random() * 86_400_000),
      logBytes: random() < 0.5 ? Math.floor(random() * 1e9) : undefined,
    }));
    const proposal = proposeInterval(Math.ceil(random() * 86_400_000), bounds, observations);
    if (!proposal) continue;
    expect(proposal.everyMs).toBeGreaterThanOrEqual(bounds.minMs);
    expect(proposal.everyMs).toBeLessThanOrEqual(bounds.maxMs);
    expect(proposal.reason).toContain('every');
  }
  // A critical budget of 16 MiB for a store changing 64 MiB/h: every 15 minutes.
  const busy = [{ service: 'orders', bytes: 64 * 1024 ** 2, sinceMs: 3_600_000 }];
  expect(
    proposeInterval(3_600_000, { minMs: 60_000, maxMs: 3_600_000, atRiskBytes: 16 * 1024 ** 2 }, busy),
  ).toMatchObject({ everyMs: 900_000 });
  // Within 20% of the current interval: left alone.
  expect(
    proposeInterval(1_000_000, { minMs: 60_000, maxMs: 3_600_000, atRiskBytes: 16 * 1024 ** 2 }, busy),
  ).toBeUndefined();
});

test('a burst shortens the interval at once; one quiet spell after busy ones does not lengthen it', () => {
  const mib = 1024 ** 2;
  const hour = 3_600_000;
  const bounds = { minMs: 60_000, maxMs: 24 * hour, atRiskBytes: 16 * mib };
  const busyHour = { bytes: 64 * mib, sinceMs: hour };
  const quietHour = { bytes: 0, sinceMs: hour };
  // Quiet, quiet, then busy (newest first): the latest hour's 64 MiB decides, every 15 minutes.
  expect(storeRate('orders', [busyHour, quietHour, quietHour])).toEqual({ service: 'orders', ...busyHour });
  expect(
    proposeInterval(hour, bounds, [storeRate('orders', [busyHour, quietHour, quietHour])!]),
  ).toMatchObject({
    everyMs: 15 * 60_000,
  });
  // Busy, busy, then one quiet hour: the three hours' 128 MiB decide, every 22.5 minutes, not the maximum.
  const steady = storeRate('orders', [quietHour, busyHour, busyHour])!;
  expect(steady).toMatchObject({ bytes: 128 * mib, sinceMs: 3 * hour });
  expect(proposeInterval(15 * 60_000, bounds, [steady])).toMatchObject({ everyMs: 22.5 * 60_000 });
  expect(
    proposeInterval(15 * 60_000, bounds, [storeRate('orders', [quietHour, quietHour, quietHour])!]),
  ).toMatchObject({
    everyMs: 24 * hour,
  });
  // Only the last three count; a first snapshot (no span) gives no rate.
  expect(storeRate('orders', [quietHour, quietHour, quietHour, busyHour])).toMatchObject({ bytes: 0 });
  expect(storeRate('orders', [{ bytes: 5 * mib }])).toBeUndefined();
});

test('a bad cadence is refused before anything is scheduled, naming the field', async () => {
  const { file } = await app('badcron', { critical: { backup: { cron: 'every day' } } });
  const run = lazarus(['schedule', 'apply', file], env);
  expect(run.code).toBe(2);
  expect(run.stderr).toContain('tiers.critical.backup');
  expect(run.stderr).toContain('five cron fields');
  expect(run.stderr).not.toMatch(/\n\s+at /);

  // A drill schedule that could touch production is refused before any schedule changes.
  const dir = stores.tempDir();
  const unsafe = await stores.writeManifest(dir, {
    app: 'unsafedrill',
    tiers: { standard: { drill: { every: '7d' } } },
    services: { sessions: { datastore: { kind: 'redis', db: 3 } } },
  });
  const refused = lazarus(['schedule', 'apply', unsafe], env);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('tiers.standard.drill: a drill of sessions would not be safe');
  expect(refused.stderr).toContain('sandbox_db is not set');
  expect(
    await client.schedule
      .getHandle('backup/unsafedrill/standard')
      .describe()
      .catch(() => 'none'),
  ).toBe('none');
});

test('the adaptive check before the first backup finds no repository: no proposal, and no repository made', async () => {
  const missing = path.join(stores.tempDir(), 'repo');
  const activities = createActivities(workerActivityDeps());
  const proposals = await activities.proposeIntervals({
    app: 'not-backed-up-yet',
    repository: { location: missing },
    schedules: [
      {
        scheduleId: 'backup/not-backed-up-yet/critical',
        services: ['orders'],
        minMs: 60_000,
        maxMs: 3_600_000,
        atRiskBytes: 1,
      },
    ],
  });
  expect(proposals).toEqual([]);
  expect(existsSync(missing)).toBe(false);
  // Every other step refuses it, without retrying, naming the field to check.
  // In an activity's context, as a worker runs it (the step heartbeats).
  await expect(
    new MockActivityEnvironment().run(activities.resolveBackup, {
      repository: { location: missing },
      app: 'not-backed-up-yet',
    }),
  ).rejects.toMatchObject({
    type: 'MissingRepository',
    nonRetryable: true,
    message: expect.stringContaining('check repository.path'),
  });
  expect(existsSync(missing)).toBe(false);
});
