/**
 * Activities built over fake collaborators (ActivityDeps): no datastore, repository or
 * Temporal server. Each runs in the SDK's MockActivityEnvironment, as a worker would run it.
 */
import { ScheduleNotFoundError, type ScheduleClient } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Readable } from 'node:stream';
import { type ActivityDeps, createActivities } from '../../activities';
import type { DatastoreAdapter } from '../../datastores/adapter';
import type { Datastore } from '../../model/manifest';
import type { Repository } from '../../repository/repository';

const orders: Datastore = { kind: 'sqlite', path: '/data/orders.db' };

/** An adapter that knows stores by path; `restore` does what the test says. */
function fakeAdapter(restore: DatastoreAdapter['restore']) {
  const discarded: string[] = [];
  const adapter = {
    describe: (store: { path: string }) => `sqlite ${store.path}`,
    retarget: (store: Datastore, target: string) => ({ ...store, path: target }),
    restore,
    discard: async (store: { path: string }) => void discarded.push(store.path),
    holdsData: async (store: { path: string }) => store.path.includes('full'),
  };
  return { adapter: adapter as unknown as DatastoreAdapter, discarded };
}

/** A repository that holds one snapshot, `sha-orders`. */
const repository = {
  hasSnapshot: async (ref: { sha256: string }) => ref.sha256 === 'sha-orders',
  openSnapshot: () => Readable.from([Buffer.from('rows')]),
  backend: { location: 'memory' },
} as unknown as Repository;

function activitiesOver(overrides: Partial<ActivityDeps>) {
  return createActivities({
    adapterFor: () => {
      throw new Error('no adapter in this test');
    },
    openRepository: async () => repository,
    runHookOnce: async () => ({ ok: true, detail: '', durationMs: 0 }),
    schedules: () => {
      throw new Error('no schedules in this test');
    },
    ...overrides,
  } as ActivityDeps);
}

const restoreInput = (target?: string, sha256 = 'sha-orders') => ({
  repository: { location: '/backups' },
  service: 'orders',
  datastore: orders,
  snapshot: { sha256, size: 4 },
  target,
  stagingId: 'st1',
});

test('a restore streams the snapshot into the target, not the production store', async () => {
  const received: string[] = [];
  const { adapter } = fakeAdapter(async (store, data) => {
    for await (const chunk of data) received.push(`${(store as { path: string }).path}: ${String(chunk)}`);
  });
  const activities = activitiesOver({ adapterFor: (() => adapter) as ActivityDeps['adapterFor'] });
  const out = await new MockActivityEnvironment().run(
    activities.restoreService,
    restoreInput('/copy/orders.db'),
  );
  expect(received).toEqual(['/copy/orders.db: rows']);
  expect(out).toMatchObject({ bytes: 4, restoredTo: 'sqlite /copy/orders.db' });
});

test('a failed restore discards its staging area and names the store it failed on', async () => {
  const { adapter, discarded } = fakeAdapter(async () => {
    throw new Error('disk full');
  });
  const activities = activitiesOver({ adapterFor: (() => adapter) as ActivityDeps['adapterFor'] });
  await expect(new MockActivityEnvironment().run(activities.restoreService, restoreInput())).rejects.toThrow(
    'orders (sqlite /data/orders.db): disk full',
  );
  expect(discarded).toEqual(['/data/orders.db']);
});

test('a snapshot missing from the repository fails the restore at once, without touching the store', async () => {
  const { adapter, discarded } = fakeAdapter(async () => {
    throw new Error('must not be called');
  });
  const activities = activitiesOver({ adapterFor: (() => adapter) as ActivityDeps['adapterFor'] });
  await expect(
    new MockActivityEnvironment().run(activities.restoreService, restoreInput(undefined, 'sha-gone')),
  ).rejects.toMatchObject({
    nonRetryable: true,
    message: 'the snapshot of orders is missing from the repository',
  });
  expect(discarded).toEqual([]);
});

test('targetsHoldingData names the targets that already hold data', async () => {
  const { adapter } = fakeAdapter(async () => {});
  const activities = activitiesOver({ adapterFor: (() => adapter) as ActivityDeps['adapterFor'] });
  const occupied = await activities.targetsHoldingData({
    targets: [
      { service: 'orders', target: '/full/orders.db', datastore: orders },
      { service: 'ledger', target: '/empty/ledger.db', datastore: orders },
    ],
  });
  expect(occupied).toEqual(['orders=sqlite /full/orders.db']);
});

test('a repository is opened once per worker, and a failed open is tried again next time', async () => {
  let opens = 0;
  const activities = activitiesOver({
    openRepository: async () => {
      if (++opens === 1) throw new Error('unreachable');
      return { verify: async () => ({ packs: 0, problems: [] }) } as unknown as Repository;
    },
  });
  const env = new MockActivityEnvironment();
  const spec = { repository: { location: '/backups' } };
  await expect(env.run(activities.verifyStructure, spec)).rejects.toThrow('unreachable');
  await env.run(activities.verifyStructure, spec);
  await env.run(activities.verifyStructure, spec);
  expect(opens).toBe(2);
});

test('the hook activity runs the hook through the injected runner, with the step cancellation', async () => {
  const seen: unknown[] = [];
  const activities = activitiesOver({
    runHookOnce: async (hook, context, signal) => {
      seen.push(hook, context, signal instanceof AbortSignal);
      return { ok: false, detail: 'exited with code 3', durationMs: 1 };
    },
  });
  const hook = { command: 'notify', timeout: 1000, on_error: 'continue' as const };
  const result = await new MockActivityEnvironment().run(activities.runHook, {
    hook,
    context: { app: 'shop' },
  });
  expect(result).toEqual({ ok: false, detail: 'exited with code 3', durationMs: 1 });
  expect(seen).toEqual([hook, { app: 'shop' }, true]);
});

test("setScheduleInterval moves the schedule's interval with a note through the injected client", async () => {
  const updates: unknown[] = [];
  const schedules = {
    getHandle: (id: string) => ({
      update: async (change: (previous: object) => object) => {
        if (id === 'gone') throw new ScheduleNotFoundError('not found', id);
        updates.push(change({ spec: { intervals: [{ every: 3_600_000 }] }, state: { paused: false } }));
      },
    }),
  } as unknown as ScheduleClient;
  const activities = activitiesOver({ schedules: () => schedules });
  const proposal = {
    scheduleId: 'backup/shop/critical',
    previousMs: 3_600_000,
    everyMs: 600_000,
    reason: 'fast',
  };
  expect(await activities.setScheduleInterval(proposal)).toBe(true);
  expect(updates).toEqual([
    { spec: { intervals: [{ every: 600_000 }] }, state: { paused: false, note: 'adaptive: fast' } },
  ]);
  expect(await activities.setScheduleInterval({ ...proposal, scheduleId: 'gone' })).toBe(false);
});

test("a drill's teardown refuses a target that is the production store, and drops only the copy", async () => {
  const dropped: string[] = [];
  const { adapter, discarded } = fakeAdapter(async () => {});
  Object.assign(adapter, { drop: async (store: { path: string }) => void dropped.push(store.path) });
  const activities = activitiesOver({ adapterFor: (() => adapter) as ActivityDeps['adapterFor'] });
  const env = new MockActivityEnvironment();
  await expect(
    env.run(activities.tearDownSandbox, { datastore: orders, target: '/data/orders.db', stagingId: 'st1' }),
  ).rejects.toThrow('refusing to use sqlite /data/orders.db as a sandbox: it is the production store');
  await env.run(activities.tearDownSandbox, {
    datastore: orders,
    target: '/drills/orders.db',
    stagingId: 'st1',
  });
  expect([discarded, dropped]).toEqual([['/drills/orders.db'], ['/drills/orders.db']]);
});
