/**
 * Runs a user's hook as its own activity, `hook/<event>[/<service>]`, so the order of
 * hooks and steps reads straight off the run's history in the Temporal UI.
 */
import { ActivityFailure, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { HookContext } from '../activities/hooks';
import type { Hook, ServiceHookName } from '../model/manifest';
import { rootMessage } from '../model/errors';
import type { HookRecord, NodeOutcome, PartitionPlan } from './types';
import { hookStep } from './activity-options';
import { stepId } from '../contracts/ids';

export async function runHook(
  event: string,
  hook: Hook | undefined,
  context: HookContext,
  heartbeatTimeoutSeconds: number,
): Promise<HookRecord | undefined> {
  if (!hook) return undefined;
  const service = typeof context.service === 'string' ? context.service : undefined;
  const activityId = service ? stepId('hook', event, service) : stepId('hook', event);
  const activities = proxyActivities<Activities>(hookStep(activityId, hook.timeout, heartbeatTimeoutSeconds));
  const record = { event, service, onError: hook.on_error };
  try {
    return { ...record, ...(await activities.runHook({ hook, context: { ...context, event } })) };
  } catch (err) {
    if (isCancellation(err) || !(err instanceof ActivityFailure)) throw err;
    return { ...record, ok: false, detail: rootMessage(err), durationMs: 0 };
  }
}

/** Runs one of a service's hooks, if it has it, with the run's context. */
export function serviceHook(plan: PartitionPlan, service: string) {
  return (event: ServiceHookName) => {
    const hook = plan.members[service].hooks?.[event];
    if (!hook) return undefined;
    const target = plan.members[service].target;
    const context = { ...plan.context, service, target };
    return () => runHook(event, hook, context, plan.options.heartbeatTimeoutSeconds);
  };
}

/** A failed hook whose on_error is `fail`: the step it belongs to fails. */
export function hookBlocks(record: HookRecord | undefined): record is HookRecord {
  return record !== undefined && !record.ok && record.onError === 'fail';
}

export function hookFailure(record: HookRecord): string {
  return `${record.event} hook failed: ${record.detail}`;
}

/**
 * A step between a hook before it and one after it. The step is skipped when the hook
 * before it blocks; the hook after it runs when the step succeeded, or always when
 * `afterAlways` (a post-backup hook that lifts what a pre-backup hook set up).
 */
export async function withHooks(
  before: (() => Promise<HookRecord | undefined>) | undefined,
  step: () => Promise<NodeOutcome>,
  after: (() => Promise<HookRecord | undefined>) | undefined,
  afterAlways: boolean,
): Promise<NodeOutcome> {
  const records: HookRecord[] = [];
  const pre = await before?.();
  if (pre) records.push(pre);
  let outcome: NodeOutcome = hookBlocks(pre) ? { status: 'failed', reason: hookFailure(pre) } : await step();
  if (after && (afterAlways || outcome.status === 'succeeded')) {
    const post = await after();
    if (post) records.push(post);
    if (hookBlocks(post) && outcome.status === 'succeeded') {
      outcome = { ...outcome, status: 'failed', reason: hookFailure(post) };
    }
  }
  return records.length > 0 ? { ...outcome, hooks: [...(outcome.hooks ?? []), ...records] } : outcome;
}
