/**
 * backupApplication with mocked activities, on the in-process workflow stand-in
 * (support/workflow-runtime.ts; the real-server versions are in test/workflows.test.ts).
 */
import type { BackupEntry } from '../../repository/records/catalog';
import * as workflows from '../../workflows';
import type { AppSpec, RunResult } from '../../workflows/types';
import {
  type Layout,
  type StepBehaviour,
  appSpec,
  servicesCalled,
  snapshotted,
  stepMock,
} from './support/app';
import { isCancellation, startWorkflow, type WorkflowRun } from './support/workflow-runtime';

function startBackup(
  layout: Layout,
  options: { partitionSize?: number } = {},
  steps: StepBehaviour = {},
  edit: (spec: AppSpec) => void = () => {},
) {
  const spec = appSpec(layout);
  edit(spec);
  let run: WorkflowRun<RunResult> | undefined = undefined;
  run = startWorkflow(workflows.backupApplication, [{ spec, options }], {
    workflowId: 'backup/shop/1',
    workflows,
    activities: {
      lockRepository: async () => {},
      unlockRepository: async () => {},
      snapshotService: stepMock(() => run!, steps, snapshotted),
      saveBackup: async (input: { entry: BackupEntry }) => ({ id: input.entry.id }),
      runHook: async () => ({ ok: true, detail: '', durationMs: 1 }),
      snapshotGroup: async (input: { members: { service: string }[] }) => {
        const at = new Date().toISOString();
        return {
          times: { frozenAt: at, pointAt: at, releasedAt: at, freezeMs: 5 },
          hookDetails: [],
          members: Object.fromEntries(input.members.map((m) => [m.service, snapshotted(m.service)])),
        };
      },
    },
  });
  return run;
}

const five: Layout = { a: 'sqlite', b: 'postgres', c: 'redis', d: ['directory', 'a'], e: 'stateless' };

test('a backup snapshots every store, records one catalog entry, and holds the lock around it', async () => {
  const run = startBackup(five, {}, { fails: { c: 'connection refused' } });
  const result = await run.result();
  expect(result.outcome).toBe('partial');
  // A backup does not wait for dependencies: every store is snapshotted at once.
  expect(run.activityCalls.filter((c) => c.type === 'snapshotService').every((c) => c.startedAt === 0)).toBe(
    true,
  );
  const [{ entry }] = run.inputsOf<{ entry: BackupEntry }>('saveBackup');
  expect(Object.keys(entry.services).sort()).toEqual(['a', 'b', 'd']);
  expect(entry.failures).toEqual({ c: 'connection refused' });
  expect(entry.status).toBe('partial');
  expect(run.activityCalls.map((c) => c.type)[0]).toBe('lockRepository');
  expect(run.activityCalls.map((c) => c.type).at(-1)).toBe('unlockRepository');
});

test('a large backup runs in child workflows named after the run, one slice each', async () => {
  const run = startBackup(five, { partitionSize: 2 });
  const result = await run.result();
  expect(result.outcome).toBe('succeeded');
  expect(run.children.map((c) => [c.workflowType, c.workflowId])).toEqual([
    ['backupPartition', 'backup/shop/1/L0-0'],
    ['backupPartition', 'backup/shop/1/L0-1'],
  ]);
  const snapshottedBy = Object.fromEntries(
    run.activityCalls
      .filter((c) => c.type === 'snapshotService')
      .map((c) => [(c.input as { service: string }).service, c.workflowId]),
  );
  expect(snapshottedBy).toEqual({
    a: 'backup/shop/1/L0-0',
    b: 'backup/shop/1/L0-0',
    c: 'backup/shop/1/L0-1',
    d: 'backup/shop/1/L0-1',
  });
  expect(servicesCalled(run, 'snapshotService')).toHaveLength(4);
});

test('a cancelled backup still releases the repository lock', async () => {
  const run = startBackup(five, {}, { ms: { a: 60_000 } });
  await run.settle();
  await run.cancel();
  const error = await run.result().then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isCancellation(error)).toBe(true);
  expect(run.inputsOf('unlockRepository')).toHaveLength(1);
  expect(run.inputsOf('saveBackup')).toEqual([]);
});

test("a consistency group is one step, between its members' own pre- and post-backup hooks", async () => {
  const hook = { command: 'true', timeout: 1000, on_error: 'fail' as const };
  const run = startBackup({ ledger: 'sqlite', orders: 'postgres', cache: 'redis' }, {}, {}, (spec) => {
    spec.consistencyGroups = { money: { members: ['ledger', 'orders'], max_freeze: 2000 } };
    spec.hooks = { before_backup: hook, after_backup: hook };
    for (const member of ['ledger', 'orders'])
      spec.services[member].hooks = { pre_backup: hook, post_backup: hook };
  });
  const result = await run.result();
  expect(result.outcome).toBe('succeeded');
  expect(result.services.ledger).toMatchObject({ status: 'succeeded', group: 'money' });
  const steps = run.activityCalls
    .filter((c) => c.type !== 'lockRepository' && c.type !== 'unlockRepository' && c.type !== 'saveBackup')
    .map((c) => c.activityId);
  const money = steps.filter((id) => id !== 'snapshot/cache');
  expect(money).toEqual([
    'hook/before_backup',
    'hook/pre_backup/ledger',
    'hook/pre_backup/orders',
    'snapshot-group/money',
    'hook/post_backup/ledger',
    'hook/post_backup/orders',
    'hook/after_backup',
  ]);
  expect(servicesCalled(run, 'snapshotService')).toEqual(['cache']);
});
