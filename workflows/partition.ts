/**
 * Runs a plan's members over the dependency graph: as activities when the plan is
 * small, as child workflows of at most `partitionSize` members when it is not, so no
 * history comes near Temporal's limits however large the application.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  executeChild,
  isCancellation,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { stepSummary } from './step-summary';
import { restoreLayers } from '../model/graph';
import { DagHooks, partitionUnits, runDag, singletonUnits } from './dag';
import type { RunState } from './run-state';
import type { ServiceHookName } from '../model/manifest';
import { rootMessage } from './failure';
import { runHook, withHooks } from './hooks';
import type { AppSpec, NodeOutcome, PartitionPlan } from './types';
import { childWorkflowId, stagingId, stepId } from '../contracts/ids';

export type StepKind = 'snapshot' | 'restore';

/**
 * How soon a bookkeeping step (a catalog read or write, the repository lock) lost with its
 * worker is tried again: they heartbeat, so a dead worker costs seconds, not the whole
 * start-to-close timeout.
 */
export const BOOKKEEPING_HEARTBEAT = '10 seconds';

/** Short catalog steps (resolve a backup, record one): quick, and safe to retry. */
export const catalog = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: BOOKKEEPING_HEARTBEAT,
  retry: { maximumAttempts: 10 },
});

/** The backup a restore or drill of `services` uses: the one named, or the latest verified that holds their stores. */
export function resolveBackupFor(spec: AppSpec, backupId: string | undefined, services: string[]) {
  return catalog.resolveBackup({
    repository: spec.repository,
    app: spec.app,
    backupId,
    services: services.filter((s) => spec.services[s].datastore),
  });
}

export async function runPlan(
  plan: PartitionPlan,
  step: StepKind,
  state?: RunState,
): Promise<Record<string, NodeOutcome>> {
  const small = Object.keys(plan.members).length <= plan.options.partitionSize;
  const units = small
    ? singletonUnits(plan.dependsOn)
    : partitionUnits(
        restoreLayers(toDependencyMap(plan.dependsOn)),
        plan.dependsOn,
        plan.options.partitionSize,
      );
  const hooks: DagHooks = {
    execute: small
      ? (_unit, [member]) => runStep(plan, step, member).then((outcome) => ({ [member]: outcome }))
      : (unit, members) => runChild(plan, step, unit.id, members),
    onStart: (members) => state?.started(members),
    onDone: (outcomes) => state?.finished(outcomes),
  };
  return runDag(units, plan.dependsOn, plan.options.concurrency, hooks);
}

/** The child workflow behind one partition: the same plan runner over a slice of the graph. */
export async function runPartition(
  plan: PartitionPlan,
  step: StepKind,
): Promise<Record<string, NodeOutcome>> {
  return runPlan(plan, step);
}

async function runChild(plan: PartitionPlan, step: StepKind, unitId: string, members: string[]) {
  const slice: PartitionPlan = {
    ...plan,
    members: Object.fromEntries(members.map((m) => [m, plan.members[m]])),
    // Members of one unit share a layer, so none depends on another.
    dependsOn: Object.fromEntries(members.map((m) => [m, []])),
  };
  try {
    return await executeChild(step === 'snapshot' ? 'backupPartition' : 'restorePartition', {
      args: [slice],
      workflowId: childWorkflowId(workflowInfo().workflowId, unitId),
    });
  } catch (err) {
    if (isCancellation(err)) throw err;
    // A partition that failed as a whole fails its members; other branches go on.
    const reason = `partition ${unitId} failed: ${rootMessage(err as Error)}`;
    return Object.fromEntries(members.map((m) => [m, { status: 'failed', reason } as NodeOutcome]));
  }
}

async function runStep(plan: PartitionPlan, step: StepKind, service: string): Promise<NodeOutcome> {
  const member = plan.members[service];
  // A stateless service has nothing to restore, but it is still a node of the graph.
  if (!member.datastore) return { status: 'stateless' };
  const hook = serviceHook(plan, service);
  return step === 'snapshot'
    ? withHooks(hook('pre_backup'), () => runActivity(plan, step, service), hook('post_backup'), true)
    : withHooks(undefined, () => runActivity(plan, step, service), hook('post_restore'), false);
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

export function stepActivities(plan: PartitionPlan, activityId: string) {
  return proxyActivities<Activities>({
    activityId,
    summary: stepSummary(activityId),
    startToCloseTimeout: '24 hours',
    heartbeatTimeout: `${plan.options.heartbeatTimeoutSeconds} seconds`,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      maximumAttempts: plan.options.maxAttempts,
      initialInterval: '1 second',
      maximumInterval: '30 seconds',
    },
  });
}

async function runActivity(plan: PartitionPlan, step: StepKind, service: string): Promise<NodeOutcome> {
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

function toDependencyMap(deps: Record<string, string[]>) {
  return Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, { depends_on: v }]));
}
