/**
 * Approval of a restore that overwrites the original targets: it waits for a signal,
 * `lazarus approve` or `lazarus reject`, and without one before the timeout it stops
 * having changed nothing.
 */
import { condition, defineSignal, setHandler } from '@temporalio/workflow';
import type { RunState } from './run-state';
import type { RestoreInput } from './types';

/** Who decided, and why: kept in the run's history with the signal. */
export interface Decision {
  by?: string;
  reason?: string;
}
export const approveSignal = defineSignal<[Decision?]>('approve');
export const rejectSignal = defineSignal<[Decision?]>('reject');

/** Waits for `approve` or `reject`; returns why the restore must not go ahead, if it must not. */
export async function awaitApproval(state: RunState, input: RestoreInput): Promise<string | undefined> {
  let decision: (Decision & { approved: boolean }) | undefined;
  setHandler(approveSignal, (by) => void (decision ??= { approved: true, ...by }));
  setHandler(rejectSignal, (why) => void (decision ??= { approved: false, ...why }));
  const timeoutSeconds = input.approvalTimeoutSeconds ?? 3600;
  state.awaitingApproval = true;
  const decided = await condition(() => decision !== undefined, `${timeoutSeconds} seconds`);
  state.awaitingApproval = false;
  if (!decided) return `no approval within ${timeoutSeconds} s; nothing was changed`;
  if (!decision!.approved)
    return `rejected${decision!.by ? ` by ${decision!.by}` : ''}${decision!.reason ? `: ${decision!.reason}` : ''}; nothing was changed`;
  return undefined;
}
