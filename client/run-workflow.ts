/** Starts a backup or restore, shows its progress, and waits for its result. */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Client,
  ServiceError,
  type WorkflowHandle,
  WorkflowFailedError,
  isGrpcServiceError,
} from '@temporalio/client';
import { SingleBar } from 'cli-progress';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { formatBytes } from './output';
import { rootMessage } from '../model/errors';
import { appKey, operationKey } from '../contracts/search-attributes';
import { progressQuery } from '../workflows';
import type { BackupInput, RestoreInput, RunProgress, RunResult } from '../workflows/types';
import type { DrillInput } from '../workflows/drill';
import type { VerifyInput } from '../workflows/verify';
import { type Operation, workflowTypes } from '../contracts/operations';
import { parseStep, workflowIdFor } from '../contracts/ids';

export type RunRequest =
  | { kind: 'backup'; input: BackupInput }
  | { kind: 'restore'; input: RestoreInput }
  | { kind: 'drill'; input: DrillInput }
  | { kind: 'verify'; input: VerifyInput };

export interface RunHandle {
  workflowId: string;
  result: Promise<RunResult>;
}

/** The search attributes every run of an application carries, for filtering in the UI. */
export function runAttributes(operation: Operation, app: string) {
  return [
    { key: appKey, value: app },
    { key: operationKey, value: operation },
  ];
}

/** The line the Temporal UI shows for a run: what it does to which services. */
function runSummary(request: RunRequest): string {
  const spec = request.input.spec;
  if (!('services' in spec)) return `${request.kind} of ${spec.app}'s repository`;
  const stateful = Object.keys(spec.services).filter((s) => spec.services[s].datastore);
  return `${request.kind} of ${spec.app}: ${stateful.join(', ')}`;
}

export async function startRun(client: Client, taskQueue: string, request: RunRequest): Promise<RunHandle> {
  const app = request.input.spec.app;
  const workflowId = workflowIdFor(request.kind, app);
  const handle = await client.workflow.start(workflowTypes[request.kind], {
    taskQueue,
    workflowId,
    args: [request.input],
    typedSearchAttributes: runAttributes(request.kind, app),
    memo: { summary: `${request.kind} of ${app}` },
    staticSummary: runSummary(request),
  });
  // Asked for only when wanted: a pending long poll would keep a --no-wait command from exiting.
  let result: Promise<RunResult> | undefined;
  return {
    workflowId,
    get result() {
      return (result ??= resultThroughOutages(handle));
    },
  };
}

/** How long the CLI keeps waiting for a server it cannot reach before it says how to follow the run. */
const SERVER_PATIENCE_MS = 10 * 60_000;

/**
 * The run's result, waited for through a server that is down or restarting: the run goes on
 * without the CLI, so losing contact is no reason to report it failed. After ten minutes
 * without an answer the CLI stops waiting and names the run and how to look it up.
 */
async function resultThroughOutages(handle: WorkflowHandle): Promise<RunResult> {
  let lostSince: number | undefined;
  for (;;) {
    try {
      return (await handle.result()) as RunResult;
    } catch (err) {
      if (!isConnectionLoss(err)) throw err;
      if (lostSince === undefined) {
        console.error(
          `lazarus: lost contact with the Temporal server (${(err as Error).message}); ` +
            `still waiting for ${handle.workflowId}, which goes on meanwhile`,
        );
      }
      lostSince ??= Date.now();
      if (Date.now() - lostSince > SERVER_PATIENCE_MS) throw new RunUnfollowedError(handle.workflowId);
      await sleep(2000);
      // An answer from the server means contact is back: the patience starts over.
      if (
        await handle.describe().then(
          () => true,
          () => false,
        )
      )
        lostSince = undefined;
    }
  }
}

function isConnectionLoss(err: unknown): boolean {
  if (!(err instanceof ServiceError)) return false;
  // No gRPC status: the client's own connection was closed, which no waiting mends.
  return isGrpcServiceError(err.cause) && lostContactCodes.has(err.cause.code);
}

/** gRPC's UNAVAILABLE, DEADLINE_EXCEEDED, UNKNOWN, CANCELLED, RESOURCE_EXHAUSTED: the server, not the run. */
const lostContactCodes = new Set([14, 4, 2, 1, 8]);

/** The CLI stopped waiting for a run it could no longer see; the run itself may well finish. */
export class RunUnfollowedError extends Error {
  constructor(readonly workflowId: string) {
    super(
      `the Temporal server has not answered for ${SERVER_PATIENCE_MS / 60_000} minutes; run ${workflowId} goes on ` +
        `without this command: see how it ended with "lazarus show '${workflowId}'"`,
    );
  }
}

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
