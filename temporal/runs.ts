/**
 * Starts a run (backup, restore, drill, verify) on the server and waits for its result
 * through server outages. Used by the CLI, the history recorder and the benches.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, ServiceError, type WorkflowHandle, isGrpcServiceError } from '@temporalio/client';
import { type Operation, workflowTypes } from '../contracts/operations';
import { workflowIdFor } from '../contracts/ids';
import { keepsState } from '../model/restore-selection';
import { appKey, operationKey } from '../contracts/search-attributes';
import type { RunResult } from '../workflows/types';
import type * as workflows from '../workflows';

/** The operations started as runs of an application (the adaptive scheduler is started by `schedule apply`). */
export type RunOperation = Exclude<Operation, 'adapt' | 'watch-functions'>;

/** The input of an operation's workflow, read off the workflow function itself. */
export type InputOf<O extends Operation> = Parameters<(typeof workflows)[(typeof workflowTypes)[O]]>[0];

/** A run to start: one operation and its workflow's input. */
export type RunRequest = { [O in RunOperation]: { operation: O; input: InputOf<O> } }[RunOperation];

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
  if (!('services' in spec)) return `${request.operation} of ${spec.app}'s repository`;
  const stateful = Object.keys(spec.services).filter((s) => keepsState(spec.services[s]));
  return `${request.operation} of ${spec.app}: ${stateful.join(', ')}`;
}

export async function startRun(client: Client, taskQueue: string, request: RunRequest): Promise<RunHandle> {
  const app = request.input.spec.app;
  const workflowId = workflowIdFor(request.operation, app);
  const handle = await client.workflow.start(workflowTypes[request.operation], {
    taskQueue,
    workflowId,
    args: [request.input],
    typedSearchAttributes: runAttributes(request.operation, app),
    memo: { summary: `${request.operation} of ${app}` },
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
