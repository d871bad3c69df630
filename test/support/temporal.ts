import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowHandle } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { type WorkerOptions, createWorker } from '../../worker/create-worker';
import { settingsFromEnv } from '../../temporal/settings';
import { startRun, RunRequest } from '../../temporal/runs';
import type { RunResult } from '../../workflows/types';

export function serverAddress(): string {
  const address = process.env.LAZARUS_TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('the test server is not running (global setup did not run)');
  return address;
}

export async function testClient(): Promise<Client> {
  return new Client({ connection: await Connection.connect({ address: serverAddress() }) });
}

export function uniqueQueue(name: string): string {
  return `test-${name}-${randomUUID().slice(0, 8)}`;
}

/** An in-process worker on its own task queue, built as `lazarus worker` builds it; stop it with `stop()`. */
export async function startWorker(
  taskQueue: string,
  options: WorkerOptions = {},
): Promise<{ stop(): Promise<void> }> {
  const connection = await NativeConnection.connect({ address: serverAddress() });
  const worker = await createWorker(
    connection,
    settingsFromEnv({ address: serverAddress(), taskQueue }),
    options,
  );
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

export async function runToEnd(
  client: Client,
  taskQueue: string,
  request: RunRequest,
): Promise<RunResult & { workflowId: string }> {
  const run = await startRun(client, taskQueue, request);
  return { workflowId: run.workflowId, ...(await run.result) };
}

export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Per activity ID: when it was scheduled, started and completed, read from the run's history. */
export async function activityTimes(handle: WorkflowHandle) {
  const history = await handle.fetchHistory();
  const byScheduledId = new Map<
    string,
    { id: string; scheduled: number; started?: number; completed?: number }
  >();
  const ms = (e: HistoryEvent) =>
    Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
  for (const e of history.events ?? []) {
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes) {
      byScheduledId.set(id, {
        id: e.activityTaskScheduledEventAttributes.activityId ?? '',
        scheduled: ms(e),
      });
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) byScheduledId.get(String(started.scheduledEventId))!.started = ms(e);
    const completed = e.activityTaskCompletedEventAttributes;
    if (completed) byScheduledId.get(String(completed.scheduledEventId))!.completed = ms(e);
  }
  return new Map([...byScheduledId.values()].map((a) => [a.id, a]));
}

/** Polls `check` every 100 ms until it holds (a failing check counts as not yet). */
export async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Triggers a schedule now and returns the ID of the run it started. */
export async function triggerSchedule(client: Client, scheduleId: string): Promise<string> {
  const handle = client.schedule.getHandle(scheduleId);
  await handle.trigger();
  let runId: string | undefined;
  for (let i = 0; i < 100 && !runId; i++) {
    runId = (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId;
    if (!runId) await new Promise((r) => setTimeout(r, 100));
  }
  if (!runId) throw new Error(`schedule ${scheduleId} started no run within 10 s`);
  return runId;
}
