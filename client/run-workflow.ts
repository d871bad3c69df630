/** Follows a started run: its progress on a terminal, then its result or why it failed. */
import { type Client, WorkflowFailedError } from '@temporalio/client';
import { SingleBar } from 'cli-progress';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { formatBytes } from './output';
import { rootMessage } from '../model/errors';
import { parseStep } from '../contracts/ids';
import { progressQuery } from '../workflows/run-state';
import type { RunProgress, RunResult } from '../workflows/types';
import type { RunHandle } from '../temporal/runs';

/** Polls the run's progress query into a progress bar (on a terminal) until it ends. */
export async function followRun(client: Client, run: RunHandle, showBar: boolean): Promise<RunResult> {
  if (!showBar) return unwrap(run.result);
  const bar = new SingleBar({
    format: '{bar} {value}/{total} services | {running}',
    hideCursor: true,
    clearOnComplete: true,
    stream: process.stderr,
  });
  bar.start(1, 0, { running: 'starting' });
  const handle = client.workflow.getHandle(run.workflowId);
  const poll = setInterval(() => {
    Promise.all([handle.query(progressQuery), handle.describe()]).then(
      ([progress, description]) => {
        bar.setTotal(progress.total);
        bar.update(progress.done, {
          running: describeRunning(progress, stepBytes(description.raw.pendingActivities)),
        });
      },
      () => {},
    );
  }, 500);
  try {
    return await unwrap(run.result);
  } finally {
    clearInterval(poll);
    bar.stop();
  }
}

/** Bytes moved so far by each running step, from its last heartbeat ({phase, bytes}). */
function stepBytes(
  pending: temporal.api.workflow.v1.IPendingActivityInfo[] | null | undefined,
): Map<string, number> {
  const bytes = new Map<string, number>();
  for (const activity of pending ?? []) {
    const payload = activity.heartbeatDetails?.payloads?.[0];
    if (!payload || !activity.activityId) continue;
    const details = defaultPayloadConverter.fromPayload<{ bytes?: number }>(payload);
    // Progress names a step by what it works on: the service of `snapshot/<service>`.
    bytes.set(parseStep(activity.activityId).subject, details.bytes ?? 0);
  }
  return bytes;
}

function describeRunning(progress: RunProgress, bytes: Map<string, number>): string {
  if (progress.running.length === 0) return '';
  const shown = progress.running
    .slice(0, 3)
    .map((s) => (bytes.has(s) ? `${s} ${formatBytes(bytes.get(s))}` : s));
  return `running: ${shown.join(', ')}${progress.running.length > 3 ? ` +${progress.running.length - 3}` : ''}`;
}

async function unwrap(result: Promise<RunResult>): Promise<RunResult> {
  try {
    return await result;
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      throw new RunFailedError(rootMessage(err));
    }
    throw err;
  }
}

export class RunFailedError extends Error {}
