import { upsertSearchAttributes } from '@temporalio/workflow';
import { outcomeKey, servicesKey } from '../contracts/search-attributes';
import type { NodeOutcome, RunResult } from './types';

/** succeeded: nothing failed or was skipped; failed: nothing succeeded; partial otherwise. */
export function overallOutcome(outcomes: Record<string, NodeOutcome>): RunResult['outcome'] {
  const statuses = Object.values(outcomes).map((o) => o.status);
  const bad = statuses.filter((s) => s === 'failed' || s === 'skipped').length;
  if (bad === 0) return 'succeeded';
  return statuses.some((s) => s === 'succeeded') ? 'partial' : 'failed';
}

/** The run's overall outcome, also written to its search attributes so the UI can filter on it. */
export function recordOutcome(
  outcomes: Record<string, NodeOutcome>,
  overriding?: RunResult['outcome'],
): RunResult['outcome'] {
  const outcome = overriding ?? overallOutcome(outcomes);
  upsertSearchAttributes([{ key: outcomeKey, value: outcome }]);
  return outcome;
}

/** The server refuses a search attribute value over 2,048 bytes. */
const SEARCH_ATTRIBUTE_BYTES = 2000;

/**
 * Tags the run with the services it touches, for filtering in the UI. A very large
 * application is tagged with as many names as the server accepts; the run's result
 * and the catalog always list every service.
 */
export function recordServices(names: string[]): void {
  const kept: string[] = [];
  let bytes = 2;
  for (const name of names) {
    bytes += name.length + 3;
    if (bytes > SEARCH_ATTRIBUTE_BYTES) break;
    kept.push(name);
  }
  upsertSearchAttributes([{ key: servicesKey, value: kept }]);
}
