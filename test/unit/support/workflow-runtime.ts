/**
 * An in-process stand-in for `@temporalio/workflow`, for the unit tier: the unit jest
 * project maps the SDK's module to this file (jest.config.js), so workflow code runs here
 * as plain async functions, with activities answered by each test's mocks, child
 * workflows run in-process, and timers on a virtual clock that skips ahead whenever
 * nothing else can move (as the SDK's time-skipping test server does, without a server).
 *
 * It implements only what workflows/ uses, and only as far as these tests need. It is NOT
 * proof of the real SDK's behaviour: no determinism, no history, no replay, no retries (an
 * activity mock that throws fails the step as if its retries were used up), no payload
 * conversion, and `Date` is the real clock. The integration tier runs the same workflows
 * on a real Temporal server (test/workflows.test.ts, test/drill.test.ts, ...) and replays
 * recorded histories (test/replay.test.ts); those are the proof.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  type QueryDefinition,
  RetryState,
  type SignalDefinition,
  TemporalFailure,
} from '@temporalio/common';

export {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
} from '@temporalio/common';

type AnyFunction = (...args: never[]) => unknown;
/** A test's stand-in for an activity: called with the activity's input, as the worker would. */
export type ActivityMock = (...args: never[]) => unknown;
export type WorkflowFunction = (...args: never[]) => Promise<unknown>;

/** One activity call, as a test sees it. */
export interface ActivityCall {
  type: string;
  /** The activity ID the workflow asked for (`restore/orders`), when it set one. */
  activityId?: string;
  input: unknown;
  workflowId: string;
  /** Virtual milliseconds since the run started. */
  startedAt: number;
  finishedAt?: number;
}

export interface ChildStart {
  workflowType: string;
  workflowId: string;
  args: unknown[];
  parentId: string;
  startedAt: number;
  finishedAt?: number;
}

export interface StartOptions {
  workflowId?: string;
  /** Activity name -> its mock; an activity without one fails the test loudly. */
  activities?: Record<string, ActivityMock>;
  /** Workflow type -> function, for executeChild by name (pass `import * as workflows`). */
  workflows?: Record<string, unknown>;
}

// ---- Cancellation scopes ----------------------------------------------------------

export class CancellationScope {
  private cancelRequested = false;
  private readonly listeners = new Set<(reason: CancelledFailure) => void>();

  constructor(options: { cancellable: boolean; parent?: CancellationScope } = { cancellable: true }) {
    if (!options.cancellable) return;
    // A cancellable scope inside a cancelled one is cancelled from the start.
    this.cancelRequested = options.parent?.consideredCancelled ?? false;
    options.parent?.onCancel(() => this.cancel());
  }

  get consideredCancelled(): boolean {
    return this.cancelRequested;
  }

  cancel(): void {
    if (this.cancelRequested) return;
    this.cancelRequested = true;
    const reason = new CancelledFailure('Workflow cancelled');
    for (const listener of [...this.listeners]) listener(reason);
  }

  /** Calls `listener` once this scope is cancelled; returns how to stop listening. */
  onCancel(listener: (reason: CancelledFailure) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    const context = current();
    return storage.run({ ...context, scope: this }, fn);
  }

  static current(): CancellationScope {
    return current().scope;
  }

  static nonCancellable<T>(fn: () => Promise<T>): Promise<T> {
    return new CancellationScope({ cancellable: false, parent: CancellationScope.current() }).run(fn);
  }

  static cancellable<T>(fn: () => Promise<T>): Promise<T> {
    return new CancellationScope({ cancellable: true, parent: CancellationScope.current() }).run(fn);
  }
}

export function isCancellation(err: unknown): boolean {
  return (
    err instanceof CancelledFailure ||
    ((err instanceof ActivityFailure || err instanceof ChildWorkflowFailure) && isCancellation(err.cause))
  );
}

// ---- The environment shared by a run and its children ------------------------------

interface Timer {
  at: number;
  fire: () => void;
}

interface Waiting {
  ready: () => boolean;
  resolve: () => void;
}

class Environment {
  now = 0;
  readonly timers: Timer[] = [];
  readonly waiting = new Set<Waiting>();
  readonly activityCalls: ActivityCall[] = [];
  readonly children: ChildStart[] = [];
  readonly searchAttributes: Record<string, unknown> = {};
  readonly memo: Record<string, unknown> = {};
  /** Activities running that are not waiting on the virtual clock: real work to wait for. */
  busyActivities = 0;
  private uuids = 0;

  constructor(readonly options: StartOptions) {}

  addTimer(ms: number, fire: () => void): () => void {
    const timer = { at: this.now + Math.max(0, ms), fire };
    this.timers.push(timer);
    return () => {
      const index = this.timers.indexOf(timer);
      if (index >= 0) this.timers.splice(index, 1);
    };
  }

  nextUuid(): string {
    return `00000000-0000-4000-8000-${(++this.uuids).toString(16).padStart(12, '0')}`;
  }

  /** Resolves every wait whose condition now holds; true when any did. */
  releaseReady(): boolean {
    let released = false;
    for (const w of [...this.waiting]) {
      if (w.ready()) {
        this.waiting.delete(w);
        w.resolve();
        released = true;
      }
    }
    return released;
  }

  /** Moves the clock to the earliest timer and fires every timer due by then; false when none. */
  skipToNextTimer(): boolean {
    if (this.timers.length === 0) return false;
    this.now = Math.min(...this.timers.map((t) => t.at));
    const due = this.timers.filter((t) => t.at <= this.now);
    for (const t of due) this.timers.splice(this.timers.indexOf(t), 1);
    due.forEach((t) => t.fire());
    return true;
  }
}

interface WorkflowContext {
  env: Environment;
  info: { workflowId: string; workflowType: string; parentId?: string };
  handlers: Map<string, AnyFunction>;
  scope: CancellationScope;
}

const storage = new AsyncLocalStorage<WorkflowContext>();

function current(): WorkflowContext {
  const context = storage.getStore();
  if (!context) throw new Error('workflow API called outside a workflow run by the stand-in');
  return context;
}

/** `work`, unless the scope is cancelled first: then its cancellation, at once. */
function cancellable<T>(scope: CancellationScope, work: () => Promise<T>): Promise<T> {
  if (scope.consideredCancelled) return Promise.reject(new CancelledFailure('Workflow cancelled'));
  return new Promise<T>((resolve, reject) => {
    const stopListening = scope.onCancel(reject);
    work().then(resolve, reject).finally(stopListening);
  });
}

// ---- Timers and conditions --------------------------------------------------------

function durationMs(duration: string | number): number {
  if (typeof duration === 'number') return duration;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|seconds?|m|minutes?|h|hours?|d|days?)\s*$/.exec(
    duration,
  );
  if (!match) throw new Error(`the stand-in does not read the duration ${duration}`);
  const unit = match[2];
  const factor =
    unit.startsWith('ms') || unit.startsWith('milli') ? 1 : { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[unit[0]]!;
  return Number(match[1]) * factor;
}

export function sleep(duration: string | number): Promise<void> {
  const { env, scope } = current();
  return cancellable(
    scope,
    () => new Promise<void>((resolve) => env.addTimer(durationMs(duration), resolve)),
  );
}

export function condition(fn: () => boolean): Promise<void>;
export function condition(fn: () => boolean, timeout: string | number): Promise<boolean>;
export function condition(fn: () => boolean, timeout?: string | number): Promise<boolean | void> {
  const { env, scope } = current();
  return cancellable(
    scope,
    () =>
      new Promise<boolean | void>((resolve) => {
        let cancelTimer = () => {};
        const wait: Waiting = {
          ready: fn,
          resolve: () => {
            cancelTimer();
            resolve(timeout === undefined ? undefined : true);
          },
        };
        env.waiting.add(wait);
        if (timeout !== undefined) {
          cancelTimer = env.addTimer(durationMs(timeout), () => {
            env.waiting.delete(wait);
            resolve(false);
          });
        }
      }),
  );
}

// ---- Activities and children -------------------------------------------------------

/** The activity names a workflow calls through `proxyActivities`, answered by the run's mocks. */
export function proxyActivities<A = Record<string, AnyFunction>>(options: { activityId?: string } = {}): A {
  return new Proxy({} as Record<string, unknown>, {
    get: (_target, name) => {
      if (typeof name !== 'string' || name === 'then') return undefined;
      return (...args: unknown[]) => callActivity(name, options.activityId, args);
    },
  }) as A;
}

async function callActivity(type: string, activityId: string | undefined, args: unknown[]): Promise<unknown> {
  const { env, info, scope } = current();
  const mock = env.options.activities?.[type];
  if (!mock) throw new Error(`the test gave no mock for activity ${type}`);
  // As in the SDK, an activity called in a cancelled scope is never scheduled.
  if (scope.consideredCancelled)
    throw activityFailure(type, activityId, new CancelledFailure('Workflow cancelled'));
  const call: ActivityCall = {
    type,
    activityId,
    input: args[0],
    workflowId: info.workflowId,
    startedAt: env.now,
  };
  env.activityCalls.push(call);
  const running = (async () => (mock as (...a: unknown[]) => unknown)(...args))();
  // Counted until the mock itself ends, even when the workflow stopped waiting for it.
  env.busyActivities++;
  running
    .finally(() => {
      env.busyActivities--;
      call.finishedAt = env.now;
    })
    .catch(() => {});
  try {
    return await cancellable(scope, () => running);
  } catch (err) {
    throw activityFailure(type, activityId, err);
  }
}

/** What the SDK hands a workflow when an activity failed for good: its error as the cause. */
function activityFailure(type: string, activityId: string | undefined, err: unknown): ActivityFailure {
  return new ActivityFailure(
    'Activity task failed',
    type,
    activityId,
    RetryState.NON_RETRYABLE_FAILURE,
    'stand-in',
    asTemporalFailure(err),
  );
}

function asTemporalFailure(err: unknown): TemporalFailure {
  if (err instanceof TemporalFailure) return err;
  const error = err as Error;
  return ApplicationFailure.create({ message: error.message, type: error.name });
}

export async function executeChild(
  workflow: string | WorkflowFunction,
  options: { args?: unknown[]; workflowId: string },
): Promise<unknown> {
  const parent = current();
  const workflowType = typeof workflow === 'string' ? workflow : workflow.name;
  const fn =
    typeof workflow === 'string' ? (parent.env.options.workflows?.[workflow] as WorkflowFunction) : workflow;
  if (typeof fn !== 'function') throw new Error(`the test registered no workflow ${workflowType}`);
  const args = options.args ?? [];
  const start: ChildStart = {
    workflowType,
    workflowId: options.workflowId,
    args,
    parentId: parent.info.workflowId,
    startedAt: parent.env.now,
  };
  parent.env.children.push(start);
  const context: WorkflowContext = {
    env: parent.env,
    info: { workflowId: options.workflowId, workflowType, parentId: parent.info.workflowId },
    handlers: new Map(),
    scope: new CancellationScope({ cancellable: true, parent: parent.scope }),
  };
  try {
    return await storage.run(context, () => fn(...(args as never[])));
  } catch (err) {
    // Only a Temporal failure fails a workflow; anything else is a bug the test must see.
    if (!(err instanceof TemporalFailure)) throw err;
    throw new ChildWorkflowFailure(
      'default',
      { workflowId: options.workflowId, runId: 'stand-in' },
      workflowType,
      RetryState.NON_RETRYABLE_FAILURE,
      err,
    );
  } finally {
    start.finishedAt = parent.env.now;
  }
}

// ---- Signals, queries, info and the rest -------------------------------------------

export function defineSignal<Args extends unknown[] = []>(name: string): SignalDefinition<Args> {
  return { type: 'signal', name } as SignalDefinition<Args>;
}

export function defineQuery<Result>(name: string): QueryDefinition<Result> {
  return { type: 'query', name } as QueryDefinition<Result>;
}

export function setHandler(definition: { name: string }, handler: AnyFunction | undefined): void {
  const { handlers } = current();
  if (handler) handlers.set(definition.name, handler);
  else handlers.delete(definition.name);
}

export function workflowInfo() {
  const { info } = current();
  return {
    ...info,
    runId: `${info.workflowId}-run`,
    taskQueue: 'stand-in',
    namespace: 'default',
    attempt: 1,
    continueAsNewSuggested: false,
  };
}

/** Every patch is taken: the stand-in runs new code only, never a replay. */
export function patched(_patchId: string): boolean {
  return true;
}

export function uuid4(): string {
  return current().env.nextUuid();
}

export function upsertSearchAttributes(updates: { key: { name: string }; value: unknown }[]): void {
  const { env } = current();
  for (const { key, value } of updates) env.searchAttributes[key.name] = value;
}

export function upsertMemo(memo: Record<string, unknown>): void {
  Object.assign(current().env.memo, memo);
}

/** What `continueAsNew` ends a run with here: the arguments the next run would get. */
export class ContinuedAsNew extends Error {
  constructor(readonly args: unknown[]) {
    super('continued as new');
  }
}

export async function continueAsNew(...args: unknown[]): Promise<never> {
  throw new ContinuedAsNew(args);
}

// ---- Starting and driving a run ----------------------------------------------------

/** Lets every promise chain that can move, move. */
function settled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class WorkflowRun<Result> {
  private outcome: { done: false } | { done: true; value?: Result; error?: unknown } = { done: false };
  private readonly context: WorkflowContext;
  readonly promise: Promise<Result>;

  constructor(
    readonly env: Environment,
    fn: WorkflowFunction,
    args: unknown[],
    workflowId: string,
  ) {
    this.context = {
      env,
      info: { workflowId, workflowType: fn.name },
      handlers: new Map(),
      scope: new CancellationScope({ cancellable: true }),
    };
    this.promise = storage.run(this.context, () => fn(...(args as never[]))) as Promise<Result>;
    this.promise.then(
      (value) => (this.outcome = { done: true, value }),
      (error: unknown) => (this.outcome = { done: true, error }),
    );
  }

  get workflowId(): string {
    return this.context.info.workflowId;
  }

  /** Every activity call of the run and its children, in the order they started. */
  get activityCalls(): ActivityCall[] {
    return this.env.activityCalls;
  }

  /** Calls of one activity type, their inputs only. */
  inputsOf<T = unknown>(type: string): T[] {
    return this.env.activityCalls.filter((c) => c.type === type).map((c) => c.input as T);
  }

  get children(): ChildStart[] {
    return this.env.children;
  }

  get searchAttributes(): Record<string, unknown> {
    return this.env.searchAttributes;
  }

  /** Virtual milliseconds since the run started. */
  get now(): number {
    return this.env.now;
  }

  /** For activity mocks: resolves after `ms` of virtual time. */
  delay = (ms: number): Promise<void> => {
    this.env.busyActivities--;
    return new Promise<void>((resolve) => this.env.addTimer(ms, resolve)).finally(
      () => this.env.busyActivities++,
    );
  };

  query<R>(definition: QueryDefinition<R>): R {
    const handler = this.context.handlers.get(definition.name);
    if (!handler) throw new Error(`the run has no handler for query ${definition.name}`);
    return (handler as () => R)();
  }

  async signal<Args extends unknown[]>(definition: SignalDefinition<Args>, ...args: Args): Promise<void> {
    const handler = this.context.handlers.get(definition.name);
    if (!handler) throw new Error(`the run has no handler for signal ${definition.name}`);
    storage.run(this.context, () => (handler as (...a: Args) => void)(...args));
    await this.drive(false);
  }

  /** Requests cancellation, as `WorkflowHandle.cancel()` does. */
  async cancel(): Promise<void> {
    this.context.scope.cancel();
    await this.drive(false);
  }

  /** Runs until the workflow waits on time or on the test (a signal), without moving the clock. */
  async settle(): Promise<void> {
    await this.drive(false);
  }

  /** Runs to the end, skipping the clock ahead whenever the workflow waits only on time. */
  async result(): Promise<Result> {
    await this.drive(true);
    return this.promise;
  }

  private async drive(skipTime: boolean): Promise<void> {
    for (;;) {
      await settled();
      if (this.env.releaseReady()) continue;
      if (this.outcome.done) return;
      if (this.env.busyActivities > 0) {
        // An activity mock doing real (not virtual) work: give it real time.
        await new Promise((resolve) => setTimeout(resolve, 1));
        continue;
      }
      if (!skipTime || !this.env.skipToNextTimer()) {
        if (skipTime)
          throw new Error('the workflow waits on nothing that can happen (a signal the test never sends?)');
        return;
      }
    }
  }
}

/** Starts `fn` as a workflow run in this process; drive it with `result()` or `settle()`. */
export function startWorkflow<F extends WorkflowFunction>(
  fn: F,
  args: Parameters<F>,
  options: StartOptions = {},
): WorkflowRun<Awaited<ReturnType<F>>> {
  return new WorkflowRun(
    new Environment(options),
    fn,
    args,
    options.workflowId ?? `test/${fn.name || 'run'}`,
  );
}
