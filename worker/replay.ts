/**
 * Replays workflow histories against the current workflow code: a history that took a
 * different path than the code would now take (a non-deterministic change) is reported.
 * Used by `lazarus replay` and by the suite on the histories kept under test/fixtures.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { BUNDLE_PATH, WORKFLOWS_PATH } from './bundle';

export interface ReplayOutcome {
  workflowId: string;
  runId: string;
  /** true when the history replays: the current code would have made the same decisions. */
  ok: boolean;
  nonDeterministic: boolean;
  error?: string;
}

export async function replayHistories(
  histories: AsyncIterable<HistoryAndWorkflowId> | Iterable<HistoryAndWorkflowId>,
  workflows: { workflowsPath?: string } = {},
): Promise<ReplayOutcome[]> {
  const code = workflows.workflowsPath
    ? { workflowsPath: workflows.workflowsPath }
    : existsSync(BUNDLE_PATH)
      ? { workflowBundle: { codePath: BUNDLE_PATH } }
      : { workflowsPath: WORKFLOWS_PATH };
  const outcomes: ReplayOutcome[] = [];
  for await (const result of Worker.runReplayHistories(code, histories)) {
    outcomes.push({
      workflowId: result.workflowId,
      runId: result.runId,
      ok: !result.error,
      nonDeterministic: result.error instanceof DeterminismViolationError,
      error: result.error?.message,
    });
  }
  return outcomes;
}

/** A history exported as JSON by the Web UI, the Temporal CLI or `npm run histories:record`. */
export function historyFile(file: string): HistoryAndWorkflowId {
  const history = historyFromJSON(JSON.parse(readFileSync(file, 'utf8')));
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  const workflowId = started?.workflowId || file;
  return { workflowId, history };
}
