/**
 * `lazarus restore --at` and `drill --at`: captured stores brought to a point in time.
 * Every store's plan (base and log) is made first, so a target that cannot be reached
 * for one of them is refused before anything is replayed; then each store is replayed
 * on a scratch server and swapped in (or validated, for a drill), in dependency order.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities, PointPlan, PointRestoreOutput } from '../activities';
import type { RepositorySpec } from '../contracts/repository-spec';
import type { Datastore } from '../model/manifest';
import type { StreamTarget } from '../model/timeline';
import type { Validator } from '../model/validators';
import { stagingId, stepId } from '../contracts/ids';
import { catalogStep, pointRestoreStep } from './activity-options';

export interface PointRestoreMember {
  service: string;
  datastore: Datastore;
  target: StreamTarget;
  validators?: Validator[];
  restoreAs?: 'database' | 'cluster';
}

export interface PointRestoreWorkflowInput {
  spec: { app: string; repository: RepositorySpec };
  /** In dependency order: a store before the ones that depend on it. */
  members: PointRestoreMember[];
  mode: 'in-place' | 'drill';
  /** What the user asked for, for the report: a time, a checkpoint's name, latest. */
  asked: string;
}

export interface PointRestoreResult {
  /** failed: a drill's validator did not pass (a replay that fails fails the run). */
  outcome: 'succeeded' | 'failed';
  asked: string;
  mode: 'in-place' | 'drill';
  plans: Record<string, PointPlan>;
  restored: Record<string, PointRestoreOutput>;
}

export async function restoreToPointInTime(input: PointRestoreWorkflowInput): Promise<PointRestoreResult> {
  const result: PointRestoreResult = {
    outcome: 'succeeded',
    asked: input.asked,
    mode: input.mode,
    plans: {},
    restored: {},
  };
  const stream = (m: PointRestoreMember) => ({
    repository: input.spec.repository,
    app: input.spec.app,
    service: m.service,
    datastore: m.datastore,
    target: m.target,
  });
  for (const member of input.members) {
    const { planPointRestore } = proxyActivities<Activities>({
      ...catalogStep,
      activityId: stepId('plan', member.service),
    });
    result.plans[member.service] = await planPointRestore(stream(member));
  }
  for (const member of input.members) {
    const activityId = stepId(input.mode === 'drill' ? 'replay-drill' : 'replay', member.service);
    const { restoreToPoint } = proxyActivities<Activities>({ ...pointRestoreStep, activityId });
    result.restored[member.service] = await restoreToPoint({
      ...stream(member),
      mode: input.mode,
      stagingId: stagingId(`${input.asked}/${input.mode}`, member.service),
      validators: member.validators,
      restoreAs: member.restoreAs,
    });
    if (result.restored[member.service].validations?.some((v) => !v.ok)) result.outcome = 'failed';
  }
  return result;
}
