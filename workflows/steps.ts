/**
 * One service's step of a run, `snapshot/<service>` or `restore/<service>`: an activity
 * between the service's hooks, whose failure after its retries is the service's outcome.
 */
import { ActivityFailure, isCancellation, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { stagingId, stepId } from '../contracts/ids';
import { rootMessage } from '../model/errors';
import { dataStep } from './activity-options';
import { serviceHook, withHooks } from './hooks';
import { runFunctionStep } from './function-steps';
import type { NodeOutcome, PartitionPlan } from './types';

/** What a run does to each service. */
export type StepOperation = 'snapshot' | 'restore';

export async function runStep(
  plan: PartitionPlan,
  step: StepOperation,
  service: string,
): Promise<NodeOutcome> {
  const member = plan.members[service];
  // Runs from before caches were known replay as they ran.
  if (step === 'restore' && member.cache && patched(CACHES_FLUSHED)) return flushCache(plan, service);
  // A stateless service has nothing to restore, but it is still a node of the graph.
  if (!member.datastore && !member.function) return { status: 'stateless' };
  const hook = serviceHook(plan, service);
  const run = () => (member.function ? runFunctionStep : runDataStep)(plan, step, service);
  return step === 'snapshot'
    ? withHooks(hook('pre_backup'), run, hook('post_backup'), true)
    : withHooks(undefined, run, hook('post_restore'), false);
}

const CACHES_FLUSHED = 'caches-flushed-after-restore';

/** A cache's restore step: emptied, since what it holds came from the stores just restored. */
async function flushCache(plan: PartitionPlan, service: string): Promise<NodeOutcome> {
  const activities = stepActivities(plan, stepId('flush', service));
  return failedStepAsOutcome(async () => {
    await activities.flushCache({ service, cache: plan.members[service].cache! });
    return { status: 'succeeded', flushed: true };
  });
}

/** The activities of one data step, under its own activity ID. */
export function stepActivities(plan: PartitionPlan, activityId: string) {
  return proxyActivities<Activities>(dataStep(plan.options, activityId));
}

async function runDataStep(plan: PartitionPlan, step: StepOperation, service: string): Promise<NodeOutcome> {
  const member = plan.members[service];
  const activities = stepActivities(plan, stepId(step, service));
  const common = {
    repository: plan.repository,
    service,
    datastore: member.datastore!,
    stagingId: stagingId(plan.runKey, service),
  };
  return failedStepAsOutcome(async () => {
    if (step === 'snapshot') {
      const { snapshot, ...rest } = await activities.snapshotService({ ...common, lockOwner: plan.runKey });
      return { status: 'succeeded', snapshot, bytes: snapshot.size, ...rest };
    }
    if (!member.snapshot) return { status: 'failed', reason: 'the backup holds no snapshot of this service' };
    const out = await activities.restoreService({
      ...common,
      snapshot: member.snapshot,
      target: member.target,
    });
    return { status: 'succeeded', ...out };
  });
}

/** An activity that failed for good makes its service `failed`; a cancelled run ends cancelled. */
export async function failedStepAsOutcome(step: () => Promise<NodeOutcome>): Promise<NodeOutcome> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof ActivityFailure && !isCancellation(err))
      return { status: 'failed', reason: rootMessage(err) };
    throw err;
  }
}
