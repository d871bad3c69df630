import type { ChildProcess } from 'node:child_process';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { startLazarus } from './cli';
import { serverAddress, uniqueQueue } from './temporal';

/**
 * A worker process on a queue of its own, and the environment that points `lazarus`
 * commands at it; `shared` (a password, say) goes to both.
 */
export async function cliWorker(
  name: string,
  shared: Record<string, string> = {},
): Promise<{ worker: ChildProcess; env: Record<string, string> }> {
  const queue = uniqueQueue(name);
  const worker = await spawnWorker(queue, [], shared);
  return { worker, env: { TEMPORAL_ADDRESS: serverAddress(), LAZARUS_TASK_QUEUE: queue, ...shared } };
}

/**
 * For a test file that drives `lazarus` commands: a worker process on a queue of its own,
 * started before the file's tests and killed after them; the environment that points the
 * commands at it; and a client (connected on first use) for looking at what they did.
 */
export function useCliWorker(name: string, shared: Record<string, string> = {}) {
  const queue = uniqueQueue(name);
  const env = { TEMPORAL_ADDRESS: serverAddress(), LAZARUS_TASK_QUEUE: queue, ...shared };
  const client = new Client({ connection: Connection.lazy({ address: serverAddress() }) });
  let worker: ChildProcess | undefined;
  beforeAll(async () => {
    worker = await spawnWorker(queue, [], shared);
  });
  afterAll(async () => {
    await client.connection.close();
    if (worker) await killHard(worker);
  });
  return { env, client };
}

/** A `lazarus worker` in its own process, as in production: something a test can SIGKILL. */
export function spawnWorker(
  taskQueue: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<ChildProcess> {
  return startLazarus(['worker', ...args], 'Worker connected', {
    TEMPORAL_ADDRESS: serverAddress(),
    LAZARUS_TASK_QUEUE: taskQueue,
    ...env,
  });
}

export async function killHard(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** Waits until some step of the run is under way on a worker and has reported progress. */
export async function waitForStepInProgress(handle: WorkflowHandle, timeoutMs = 60_000): Promise<string> {
  const started = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    // A step's activity ID reads `<step>/<service>`; bookkeeping steps (the lock) heartbeat too.
    const busy = pending.find(
      (a) => a.state === started && a.heartbeatDetails && a.activityId?.includes('/'),
    );
    if (busy) return busy.activityId ?? '';
    if (Date.now() > deadline) throw new Error('no step got under way in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
