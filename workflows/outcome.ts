import { upsertSearchAttributes } from '@temporalio/workflow';
import { outcomeKey } from './search-attributes';
import type { NodeOutcome, RunResult } from './types';

/** succeeded: nothing failed or was skipped; failed: nothing succeeded; partial otherwise. */
export function overallOutcome(outcomes: Record<string, NodeOutcome>): RunResult['outcome'] {
  const statuses = Object.values(outcomes).map((o) => o.status);
  const bad = statuses.filter((s) => s === 'failed' || s === 'skipped').length;
  if (bad === 0) return 'succeeded';
  return statuses.some((s) => s === 'succeeded') ? 'partial' : 'failed';
}

/** The run's overall outcome, also written to its search attributes so the UI can filter on it. */
export function recordOutcome(outcomes: Record<string, NodeOutcome>): RunResult['outcome'] {
  const outcome = overallOutcome(outcomes);
  upsertSearchAttributes([{ key: outcomeKey, value: outcome }]);
  return outcome;
}
