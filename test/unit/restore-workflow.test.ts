/**
 * restoreApplication with mocked activities, on the in-process workflow stand-in
 * (support/workflow-runtime.ts; the real-server versions are in test/workflows.test.ts).
 */
import * as workflows from '../../workflows';
import { approveSignal, rejectSignal } from '../../workflows/approval';
import { progressQuery } from '../../workflows/run-state';
import type { AppSpec, RestoreInput, RunResult } from '../../workflows/types';
import {
  type Layout,
  type StepBehaviour,
  appSpec,
  backupOf,
  restored,
  servicesCalled,
  stepMock,
} from './support/app';
import { startWorkflow, type WorkflowRun } from './support/workflow-runtime';

/** db <- api (stateless) <- web; db <- files; search stands alone. */
const shop: Layout = {
  db: 'postgres',
  api: ['stateless', 'db'],
  files: ['directory', 'db'],
  web: ['sqlite', 'api'],
  search: 'redis',
};

function startRestore(
  input: Partial<RestoreInput> & { layout?: Layout; spec?: AppSpec },
  steps: StepBehaviour = {},
) {
  const spec = input.spec ?? appSpec(input.layout ?? shop);
  let run: WorkflowRun<RunResult> | undefined = undefined;
  run = startWorkflow(workflows.restoreApplication, [{ spec, ...input }], {
    workflowId: 'restore/shop/1',
    workflows,
    activities: {
      resolveBackup: async () => backupOf(spec),
      targetsHoldingData: async () => [],
      restoreService: stepMock(() => run!, steps, restored),
      flushCache: async () => {},
    },
  });
  return run;
}

function statuses(result: RunResult): Record<string, string> {
  return Object.fromEntries(Object.entries(result.services).map(([s, o]) => [s, o.status]));
}

test('services are restored in dependency order, independent branches side by side', async () => {
  const run = startRestore({ approved: true }, { ms: { db: 50, search: 200 } });
  const result = await run.result();
  expect(result.outcome).toBe('succeeded');
  expect(statuses(result)).toEqual({
    db: 'succeeded',
    api: 'stateless',
    files: 'succeeded',
    web: 'succeeded',
    search: 'succeeded',
  });
  const call = (service: string) => run.activityCalls.find((c) => c.activityId === `restore/${service}`)!;
  expect(call('files').startedAt).toBe(call('db').finishedAt);
  expect(call('web').startedAt).toBeGreaterThanOrEqual(call('db').finishedAt!);
  // search does not wait for the db branch, nor the db branch for search.
  expect(call('search').startedAt).toBe(0);
  expect(call('web').finishedAt).toBeLessThan(call('search').finishedAt!);
  expect(run.searchAttributes.LazarusOutcome).toBe('succeeded');
});

test('no more restores run at once than the concurrency option allows', async () => {
  const layout: Layout = { a: 'sqlite', b: 'sqlite', c: 'sqlite', d: 'sqlite', e: 'sqlite' };
  const run = startRestore({ layout, approved: true, options: { concurrency: 2 } });
  await run.result();
  const calls = run.activityCalls.filter((c) => c.type === 'restoreService');
  const overlapping = (t: number) => calls.filter((c) => c.startedAt <= t && t < c.finishedAt!).length;
  expect(Math.max(...calls.map((c) => overlapping(c.startedAt)))).toBe(2);
  expect(run.now).toBe(30);
});

test('when a restore fails, what depends on it is skipped and the rest still restores', async () => {
  const run = startRestore({ approved: true }, { fails: { db: 'disk full' } });
  const result = await run.result();
  expect(result.outcome).toBe('partial');
  expect(result.services.db).toMatchObject({ status: 'failed', reason: 'disk full' });
  expect(result.services.files).toMatchObject({
    status: 'skipped',
    reason: 'dependency db did not complete',
  });
  expect(result.services.api.status).toBe('skipped');
  expect(result.services.web).toMatchObject({ status: 'skipped', reason: 'dependency api did not complete' });
  expect(result.services.search.status).toBe('succeeded');
  expect(servicesCalled(run, 'restoreService').sort()).toEqual(['db', 'search']);
});

test('a restore over production waits for approval, and without one restores nothing', async () => {
  const run = startRestore({ approvalTimeoutSeconds: 600 });
  await run.settle();
  expect(run.query(progressQuery).awaitingApproval).toBe(true);
  const result = await run.result();
  expect(result.outcome).toBe('rejected');
  expect(result.reason).toBe('no approval within 600 s; nothing was changed');
  expect(run.now).toBe(600_000);
  expect(servicesCalled(run, 'restoreService')).toEqual([]);
  expect(Object.values(result.services).every((o) => o.status === 'failed')).toBe(true);
  expect(result.services.db.reason).toBe('not restored: no approval within 600 s; nothing was changed');
});

test('an approval lets the restore go ahead; a rejection says who rejected it', async () => {
  const approved = startRestore({});
  await approved.settle();
  expect(servicesCalled(approved, 'restoreService')).toEqual([]);
  await approved.signal(approveSignal, { by: 'alice' });
  expect((await approved.result()).outcome).toBe('succeeded');
  expect(servicesCalled(approved, 'restoreService')).toHaveLength(4);

  const rejected = startRestore({});
  await rejected.settle();
  await rejected.signal(rejectSignal, { by: 'bob', reason: 'wrong backup' });
  const result = await rejected.result();
  expect(result.outcome).toBe('rejected');
  expect(result.reason).toBe('rejected by bob: wrong backup; nothing was changed');
  expect(servicesCalled(rejected, 'restoreService')).toEqual([]);
});

test('a large restore runs in child workflows of at most partitionSize services, layer after layer', async () => {
  const layout: Layout = {
    a: 'sqlite',
    b: 'sqlite',
    c: 'sqlite',
    d: ['sqlite', 'a'],
    e: ['sqlite', 'c'],
  };
  const run = startRestore({ layout, approved: true, options: { partitionSize: 2 } });
  const result = await run.result();
  expect(result.outcome).toBe('succeeded');
  expect(run.children.map((c) => [c.workflowType, c.workflowId])).toEqual([
    ['restorePartition', 'restore/shop/1/L0-0'],
    ['restorePartition', 'restore/shop/1/L0-1'],
    ['restorePartition', 'restore/shop/1/L1-0'],
  ]);
  const child = (id: string) => run.children.find((c) => c.workflowId.endsWith(id))!;
  expect(child('L1-0').startedAt).toBe(Math.max(child('L0-0').finishedAt!, child('L0-1').finishedAt!));
  // Each service restored once, by the child that holds it.
  const restoredBy = Object.fromEntries(
    run.activityCalls
      .filter((c) => c.type === 'restoreService')
      .map((c) => [(c.input as { service: string }).service, c.workflowId]),
  );
  expect(restoredBy).toEqual({
    a: 'restore/shop/1/L0-0',
    b: 'restore/shop/1/L0-0',
    c: 'restore/shop/1/L0-1',
    d: 'restore/shop/1/L1-0',
    e: 'restore/shop/1/L1-0',
  });
});

test('a failure inside a partition skips the dependents in later partitions', async () => {
  const layout: Layout = { a: 'sqlite', b: 'sqlite', c: ['sqlite', 'a'], d: ['sqlite', 'b'] };
  const run = startRestore(
    { layout, approved: true, options: { partitionSize: 1 } },
    { fails: { a: 'corrupt' } },
  );
  const result = await run.result();
  expect(statuses(result)).toEqual({ a: 'failed', b: 'succeeded', c: 'skipped', d: 'succeeded' });
  expect(run.children.map((c) => c.workflowId.split('/').pop())).toEqual(['L0-0', 'L0-1', 'L1-1']);
});

/** The shop with a memcached in front of db: it depends on what it fronts. */
function shopWithCache(): AppSpec {
  const spec = appSpec(shop);
  spec.services['db-cache'] = {
    tier: 'standard',
    depends_on: ['db'],
    cache: { engine: 'memcached', host: '127.0.0.1', port: 11211 },
  };
  return spec;
}

test('a cache is flushed once the store it fronts is restored in place', async () => {
  const run = startRestore({ spec: shopWithCache(), approved: true });
  const result = await run.result();
  expect(result.services['db-cache']).toMatchObject({ status: 'succeeded', flushed: true });
  const flush = run.activityCalls.find((c) => c.type === 'flushCache')!;
  const db = run.activityCalls.find((c) => c.activityId === 'restore/db')!;
  expect(flush.activityId).toBe('flush/db-cache');
  expect(flush.startedAt).toBeGreaterThanOrEqual(db.finishedAt!);
});

test('a restore of only the store still flushes its cache; one into a --target does not', async () => {
  const only = await startRestore({ spec: shopWithCache(), services: ['db'], approved: true }).result();
  expect(Object.keys(only.services).sort()).toEqual(['db', 'db-cache']);
  expect(only.services['db-cache']).toMatchObject({ flushed: true });

  const beside = startRestore({
    spec: shopWithCache(),
    services: ['db'],
    targets: { db: 'db_copy' },
    approved: true,
  });
  const result = await beside.result();
  expect(result.services['db-cache']).toEqual({ status: 'stateless' });
  expect(beside.activityCalls.filter((c) => c.type === 'flushCache')).toEqual([]);
});

test('when the store fails to restore, its cache is left alone', async () => {
  const run = startRestore({ spec: shopWithCache(), approved: true }, { fails: { db: 'disk full' } });
  const result = await run.result();
  expect(result.services['db-cache'].status).toBe('skipped');
  expect(run.activityCalls.filter((c) => c.type === 'flushCache')).toEqual([]);
});
