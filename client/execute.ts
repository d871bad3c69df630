/**
 * The one way a command runs a workflow now: start it, return its ID at once (--no-wait)
 * or follow it to its result, print that, and exit 1 when the run did not succeed.
 * Serves backup, restore and drill.
 */
import type { Client } from '@temporalio/client';
import { type RunHandle, type RunRequest, startRun } from '../temporal/runs';
import { type TemporalSettings, connectClient, settingsFromEnv } from '../temporal/settings';
import type { RunResult } from '../workflows/types';
import { EXIT, printJson } from './command-kit';
import { formatDuration, runTable } from './output';
import { followRun } from './run-workflow';

export interface ExecuteOptions {
  wait: boolean;
  json?: boolean;
}

export interface StartHooks {
  /** The server settings, when the command read them already. */
  settings?: TemporalSettings;
  /** Called once the run started, before it is followed. */
  onStarted?: (run: RunHandle, client: Client) => void;
}

/** Prints a finished run's result (as JSON with --json). */
export type ResultPrinter<R> = (
  result: R,
  context: { request: RunRequest; workflowId: string; json?: boolean },
) => unknown;

export async function execute<R extends { outcome: string }>(
  opts: ExecuteOptions,
  request: RunRequest,
  print: ResultPrinter<R>,
  { settings = settingsFromEnv(), onStarted }: StartHooks = {},
): Promise<void> {
  const client = await connectClient(settings);
  const run = await startRun(client, settings.taskQueue, request);
  onStarted?.(run, client);
  if (!opts.wait) return opts.json ? printJson({ workflowId: run.workflowId }) : console.log(run.workflowId);
  if (!opts.json) console.error(`${request.operation} started: ${run.workflowId}`);
  // A drill's result is its report: the workflow's type, not RunResult, says what comes back.
  const result = (await followRun(client, run, !opts.json && process.stderr.isTTY === true)) as unknown as R;
  await print(result, { request, workflowId: run.workflowId, json: opts.json });
  if (result.outcome !== 'succeeded') process.exitCode = EXIT.runFailed;
}

/** A backup's or restore's result: a table of services, then one line. */
export const printRunResult: ResultPrinter<RunResult> = (result, { request, workflowId, json }) => {
  if (json) return printJson({ workflowId, ...result });
  console.log(runTable(result));
  console.log(
    `${request.operation} ${result.backupId}: ${result.outcome} in ${formatDuration(result.durationMs)}`,
  );
};
