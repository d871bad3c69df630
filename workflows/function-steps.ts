/**
 * A function's step of a run: in a backup its live version is captured; in a restore or
 * drill the version the backup holds is deployed (after the services it depends on, its
 * bound data, by the graph's order) and its answer checked.
 */
import { CancellationScope } from '@temporalio/workflow';
import { stepId } from '../contracts/ids';
import type { FunctionStepInput } from '../activities';
import { failedStepAsOutcome, stepActivities, type StepOperation } from './steps';
import type { AppSpec, NodeOutcome, PartitionPlan } from './types';

export function functionStepInput(plan: PartitionPlan, service: string): FunctionStepInput {
  const member = plan.members[service];
  return {
    repository: plan.repository,
    app: plan.app,
    service,
    function: member.function!,
    target: member.target,
  };
}

export async function runFunctionStep(
  plan: PartitionPlan,
  step: StepOperation,
  service: string,
): Promise<NodeOutcome> {
  const activities = stepActivities(plan, stepId(step, service));
  const input = functionStepInput(plan, service);
  return failedStepAsOutcome(async () => {
    if (step === 'snapshot') {
      const { bundle, version, takenAt, startedAt, finishedAt, durationMs } =
        await activities.captureFunction({ ...input, source: 'backup', lockOwner: plan.runKey });
      const timing = { startedAt, finishedAt, durationMs };
      return { status: 'succeeded', snapshot: bundle, bytes: bundle.size, takenAt, version, ...timing };
    }
    const version = plan.members[service].version;
    if (!version) return { status: 'failed', reason: 'the backup holds no version of this function' };
    const deployed = await activities.deployFunction({ ...input, version });
    // Quiesced while its data was swapped: deployed, it takes requests again before its probe.
    await activities.resumeFunction(input);
    const probe = await activities.probeFunction(input);
    const outcome: NodeOutcome = {
      status: probe.ok ? 'succeeded' : 'failed',
      version,
      restoredTo: deployed.deployedTo,
      probe,
      startedAt: deployed.startedAt,
      finishedAt: deployed.finishedAt,
      durationMs: deployed.durationMs,
    };
    if (!probe.ok)
      outcome.reason = `deployed, but its probe answered ${probe.status}: ${probe.body.slice(0, 200)}`;
    return outcome;
  });
}

/**
 * The functions bound to data this restore swaps in place: they stop taking requests
 * first (a running Worker holds its SQLite files open), and start again once it is done.
 */
export function functionsToQuiesce(plan: PartitionPlan, spec: AppSpec): string[] {
  const swapped = new Set(
    Object.entries(plan.members)
      .filter(([, m]) => m.datastore && !m.target)
      .map(([s]) => s),
  );
  return Object.keys(spec.services).filter(
    (s) => spec.services[s].function && spec.services[s].depends_on.some((d) => swapped.has(d)),
  );
}

/** Runs `restore` with `functions` quiesced; each is resumed after, whatever happened. */
export async function withFunctionsQuiesced<T>(
  plan: PartitionPlan,
  spec: AppSpec,
  functions: string[],
  restore: () => Promise<T>,
): Promise<T> {
  const input = (service: string): FunctionStepInput => ({
    repository: plan.repository,
    app: plan.app,
    service,
    function: spec.services[service].function!,
  });
  await Promise.all(
    functions.map((s) => stepActivities(plan, stepId('quiesce', s)).quiesceFunction(input(s))),
  );
  try {
    return await restore();
  } finally {
    await CancellationScope.nonCancellable(() =>
      Promise.all(functions.map((s) => stepActivities(plan, stepId('resume', s)).resumeFunction(input(s)))),
    );
  }
}
