/**
 * drillApplication with mocked activities, on the in-process workflow stand-in
 * (support/workflow-runtime.ts; the real-server versions are in test/drill.test.ts): the
 * sandbox is torn down whatever happened to the steps before.
 */
import { isDeepStrictEqual } from 'node:util';
import * as workflows from '../../workflows';
import type { DrillReport } from '../../workflows/drill-report';
import {
  type Layout,
  type StepBehaviour,
  appSpec,
  backupOf,
  restored,
  servicesCalled,
  stepMock,
} from './support/app';
import { isCancellation, startWorkflow, type WorkflowRun } from './support/workflow-runtime';

const shop: Layout = {
  orders: 'postgres',
  files: ['directory', 'orders'],
  ledger: 'sqlite',
  web: ['stateless', 'orders'],
};

function startDrill(steps: StepBehaviour = {}) {
  const spec = appSpec(shop);
  spec.services.orders.validate = [{ sql: 'SELECT 1' }];
  let run: WorkflowRun<DrillReport> | undefined = undefined;
  run = startWorkflow(workflows.drillApplication, [{ spec }], {
    workflowId: 'drill/shop/1',
    workflows,
    activities: {
      resolveBackup: async () => backupOf(spec),
      restoreService: stepMock(() => run!, steps, restored),
      validateService: async () => {
        const now = new Date().toISOString();
        return {
          results: [{ check: 'sql SELECT 1', ok: true, detail: 'returned a row' }],
          startedAt: now,
          finishedAt: now,
          durationMs: 1,
        };
      },
      tearDownSandbox: async () => {},
      removeSandboxRoot: async () => {},
      saveDrillReport: async () => {},
    },
  });
  return run;
}

/** The services whose sandbox copy was torn down, known by their production store. */
function tornDown(run: WorkflowRun<unknown>): string[] {
  const spec = appSpec(shop);
  return run
    .inputsOf<{ datastore: unknown }>('tearDownSandbox')
    .map((i) =>
      Object.keys(spec.services).find((s) => isDeepStrictEqual(spec.services[s].datastore, i.datastore)),
    )
    .sort() as string[];
}

test('a drill restores into the sandbox, validates, tears every copy down and keeps its report', async () => {
  const run = startDrill();
  const report = await run.result();
  expect(report.reasons).toEqual([]);
  expect(report.outcome).toBe('succeeded');
  const targets = run.inputsOf<{ service: string; target?: string }>('restoreService');
  expect(targets.every((t) => t.target !== undefined)).toBe(true);
  expect(tornDown(run)).toEqual(['files', 'ledger', 'orders']);
  expect(run.inputsOf<{ root: string }>('removeSandboxRoot')).toEqual([
    { root: expect.stringMatching(/^\/drills\//) },
  ]);
  expect(servicesCalled(run, 'validateService')).toEqual(['orders']);
  expect(run.inputsOf('saveDrillReport')).toHaveLength(1);
});

test('when a restore fails, the drill still tears down every copy, the failed one included', async () => {
  const run = startDrill({ fails: { orders: 'restore failed: disk full' } });
  const report = await run.result();
  expect(report.outcome).toBe('failed');
  expect(report.services.orders).toMatchObject({ status: 'failed', reason: 'restore failed: disk full' });
  expect(report.services.files.status).toBe('skipped');
  expect(servicesCalled(run, 'restoreService').sort()).toEqual(['ledger', 'orders']);
  expect(tornDown(run)).toEqual(['files', 'ledger', 'orders']);
  expect(run.inputsOf('removeSandboxRoot')).toHaveLength(1);
  // Teardown comes after every step.
  const last = Math.max(
    ...run.activityCalls.filter((c) => c.type === 'restoreService').map((c) => c.finishedAt!),
  );
  expect(
    run.activityCalls.filter((c) => c.type === 'tearDownSandbox').every((c) => c.startedAt >= last),
  ).toBe(true);
});

test('a drill cancelled mid-restore still tears its sandbox down', async () => {
  const run = startDrill({ ms: { orders: 60_000 } });
  await run.settle();
  expect(servicesCalled(run, 'restoreService').sort()).toEqual(['ledger', 'orders']);
  await run.cancel();
  const error = await run.result().then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isCancellation(error)).toBe(true);
  expect(tornDown(run)).toEqual(['files', 'ledger', 'orders']);
  expect(run.inputsOf('removeSandboxRoot')).toHaveLength(1);
  expect(servicesCalled(run, 'restoreService')).not.toContain('files');
  expect(run.inputsOf('saveDrillReport')).toEqual([]);
});
