/**
 * The DAG runner and the partitioner, on the in-process workflow stand-in
 * (support/workflow-runtime.ts): units take virtual time, so order and overlap are exact.
 */
import { partitionUnits, runDag, singletonUnits, type Unit } from '../../workflows/dag';
import type { NodeOutcome } from '../../workflows/types';
import { startWorkflow, type WorkflowRun } from './support/workflow-runtime';

/** What the runner did, by the virtual clock: when each member started and ended. */
interface Trace {
  started: Record<string, number>;
  ended: Record<string, number>;
  maxInFlight: number;
}

/**
 * Runs `runDag` over singleton units of `deps`, each member taking `ms[member]` (default
 * 10) and ending as `status[member]` (default succeeded).
 */
async function runGraph(
  deps: Record<string, string[]>,
  limit: number,
  opts: { ms?: Record<string, number>; status?: Record<string, NodeOutcome['status']>; units?: Unit[] } = {},
) {
  const trace: Trace = { started: {}, ended: {}, maxInFlight: 0 };
  const done: string[] = [];
  let inFlight = 0;
  let run: WorkflowRun<Record<string, NodeOutcome>> | undefined = undefined;
  const graph = async () =>
    runDag(opts.units ?? singletonUnits(deps), deps, limit, {
      execute: async (_unit, members) => {
        inFlight++;
        trace.maxInFlight = Math.max(trace.maxInFlight, inFlight);
        members.forEach((m) => (trace.started[m] = run!.now));
        await run!.delay(Math.max(...members.map((m) => opts.ms?.[m] ?? 10)));
        members.forEach((m) => (trace.ended[m] = run!.now));
        inFlight--;
        return Object.fromEntries(members.map((m) => [m, { status: opts.status?.[m] ?? 'succeeded' }]));
      },
      onDone: (outcomes) => done.push(...Object.keys(outcomes)),
    });
  run = startWorkflow(graph, []);
  const outcomes = await run.result();
  return { outcomes, trace, done };
}

test('a service starts only after everything it depends on has finished', async () => {
  const { outcomes, trace } = await runGraph({ db: [], cache: [], api: ['db', 'cache'], web: ['api'] }, 4, {
    ms: { db: 30, cache: 5 },
  });
  expect(trace.started.api).toBe(trace.ended.db);
  expect(trace.started.web).toBe(trace.ended.api);
  expect(Object.values(outcomes).every((o) => o.status === 'succeeded')).toBe(true);
});

test('independent branches run side by side, never more at once than the limit', async () => {
  const deps = Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f'].map((s) => [s, []]));
  const limited = await runGraph(deps, 2);
  expect(limited.trace.maxInFlight).toBe(2);
  expect(Math.max(...Object.values(limited.trace.ended))).toBe(30);

  const wide = await runGraph(deps, 10);
  expect(wide.trace.maxInFlight).toBe(6);
  expect(Math.max(...Object.values(wide.trace.ended))).toBe(10);
});

test("a slow branch does not hold up another branch's dependents", async () => {
  const { trace } = await runGraph({ slow: [], slowChild: ['slow'], fast: [], fastChild: ['fast'] }, 4, {
    ms: { slow: 100, fast: 10 },
  });
  expect(trace.started.fastChild).toBe(10);
  expect(trace.ended.fastChild).toBeLessThan(trace.ended.slow);
});

test('the dependents of a failed service are skipped, naming the dependency, and other branches go on', async () => {
  const { outcomes, trace, done } = await runGraph({ db: [], api: ['db'], web: ['api'], search: [] }, 4, {
    status: { db: 'failed' },
  });
  expect(outcomes).toEqual({
    db: { status: 'failed' },
    api: { status: 'skipped', reason: 'dependency db did not complete' },
    web: { status: 'skipped', reason: 'dependency api did not complete' },
    search: { status: 'succeeded' },
  });
  expect(trace.started.api).toBeUndefined();
  expect(done.sort()).toEqual(['api', 'db', 'search', 'web']);
});

test('a unit that throws stops new units from starting; the error comes out once running ones end', async () => {
  const started: string[] = [];
  const run = startWorkflow(
    () =>
      runDag(singletonUnits({ a: [], b: [], c: ['a'] }), { a: [], b: [], c: ['a'] }, 4, {
        execute: async (unit) => {
          started.push(unit.id);
          await run.delay(unit.id === 'a' ? 5 : 50);
          if (unit.id === 'a') throw new Error('bug in a');
          return { [unit.id]: { status: 'succeeded' } };
        },
      }),
    [],
  );
  await expect(run.result()).rejects.toThrow('bug in a');
  expect(started).toEqual(['a', 'b']);
  expect(run.now).toBe(50);
});

describe('partitionUnits', () => {
  test('each layer is cut into slices of at most the size, named by layer and slice', () => {
    const units = partitionUnits(
      [
        ['a', 'b', 'c'],
        ['d', 'e'],
      ],
      { a: [], b: [], c: [], d: ['a'], e: ['c'] },
      2,
    );
    expect(units).toEqual([
      { id: 'L0-0', members: ['a', 'b'], after: [] },
      { id: 'L0-1', members: ['c'], after: [] },
      { id: 'L1-0', members: ['d', 'e'], after: ['L0-0', 'L0-1'] },
    ]);
  });

  test('a slice comes after only the slices holding its dependencies', () => {
    const units = partitionUnits(
      [
        ['a', 'b'],
        ['c', 'd'],
      ],
      { a: [], b: [], c: ['b'], d: [] },
      1,
    );
    expect(units.map((u) => [u.id, u.after])).toEqual([
      ['L0-0', []],
      ['L0-1', []],
      ['L1-0', ['L0-1']],
      ['L1-1', []],
    ]);
  });
});

test('singletonUnits: one unit per member, sorted, after its dependencies', () => {
  expect(singletonUnits({ web: ['api'], api: [] })).toEqual([
    { id: 'api', members: ['api'], after: [] },
    { id: 'web', members: ['web'], after: ['api'] },
  ]);
});
