/**
 * Runs a plan's members over the dependency graph: as activities when the plan is
 * small, as child workflows of at most `partitionSize` members when it is not, so no
 * history comes near Temporal's limits however large the application.
 */
import { executeChild, isCancellation, workflowInfo } from '@temporalio/workflow';
import { childWorkflowId } from '../contracts/ids';
import { restoreLayers } from '../model/graph';
import { rootMessage } from '../model/errors';
import { type UnitCallbacks, partitionUnits, runDag, singletonUnits } from './dag';
import type { RunState } from './run-state';
import { type StepOperation, runStep } from './steps';
import type { NodeOutcome, PartitionPlan } from './types';

export async function runPlan(
  plan: PartitionPlan,
  step: StepOperation,
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
  const callbacks: UnitCallbacks = {
    execute: small
      ? (_unit, [member]) => runStep(plan, step, member).then((outcome) => ({ [member]: outcome }))
      : (unit, members) => runChild(plan, step, unit.id, members),
    onStart: (members) => state?.started(members),
    onDone: (outcomes) => state?.finished(outcomes),
  };
  return runDag(units, plan.dependsOn, plan.options.concurrency, callbacks);
}

async function runChild(plan: PartitionPlan, step: StepOperation, unitId: string, members: string[]) {
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

function toDependencyMap(deps: Record<string, string[]>) {
  return Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, { depends_on: v }]));
}
