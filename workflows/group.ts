/**
 * Consistency groups in a backup: each group is one activity that freezes all its
 * members, so their snapshots share one moment. Members' own pre- and post-backup hooks
 * run around it, as they do around a lone service's snapshot.
 */
import type { ConsistencyGroup } from '../model/manifest';
import type { GroupSnapshotOutput } from '../activities';
import { failedStepAsOutcome, stepActivities } from './steps';
import { stagingId, stepId } from '../contracts/ids';
import { hookBlocks, hookFailure, serviceHook } from './hooks';
import type { RunState } from './run-state';
import type { HookRecord, NodeOutcome, PartitionPlan } from './types';

export interface GroupResult {
  group: string;
  members: string[];
  freezeMs?: number;
  frozenAt?: string;
  pointAt?: string;
  releasedAt?: string;
  hookDetails?: string[];
  reason?: string;
}

/** Snapshots one group; `plan.members` holds (at least) the group's members. */
export async function snapshotGroup(
  name: string,
  group: ConsistencyGroup,
  plan: PartitionPlan,
  state: RunState,
): Promise<{ outcomes: Record<string, NodeOutcome>; result: GroupResult }> {
  const members = group.members;
  state.started(members);
  const hooks = Object.fromEntries(members.map((m) => [m, [] as HookRecord[]]));
  const runEach = async (event: 'pre_backup' | 'post_backup') => {
    for (const member of members) {
      const record = await serviceHook(plan, member)(event)?.();
      if (record) hooks[member].push(record);
    }
  };

  await runEach('pre_backup');
  const blocked = Object.values(hooks).flat().find(hookBlocks);
  const snapshot = blocked ? { reason: hookFailure(blocked) } : await takeSnapshot(name, group, plan);
  await runEach('post_backup');

  const outcomes = Object.fromEntries(members.map((m) => [m, memberOutcome(name, m, snapshot, hooks[m])]));
  state.finished(outcomes);
  return { outcomes, result: groupResult(name, members, snapshot) };
}

type Taken = GroupSnapshotOutput | { reason: string };

/** The group activity; a failure (after its retries) becomes the reason every member failed. */
async function takeSnapshot(name: string, group: ConsistencyGroup, plan: PartitionPlan): Promise<Taken> {
  const activities = stepActivities(plan, stepId('snapshot-group', name));
  let taken: Taken | undefined;
  const outcome = await failedStepAsOutcome(async () => {
    taken = await activities.snapshotGroup({
      repository: plan.repository,
      lockOwner: plan.runKey,
      group: name,
      members: group.members.map((m) => ({
        service: m,
        datastore: plan.members[m].datastore!,
        stagingId: stagingId(plan.runKey, m),
      })),
      maxFreezeMs: group.max_freeze,
      pause: group.pause,
      resume: group.resume,
      context: plan.context,
    });
    return { status: 'succeeded' };
  });
  return taken ?? { reason: outcome.reason ?? 'the group snapshot failed' };
}

function memberOutcome(group: string, member: string, snapshot: Taken, hooks: HookRecord[]): NodeOutcome {
  const withHooks = hooks.length > 0 ? { hooks } : {};
  if ('reason' in snapshot)
    return { status: 'failed', reason: `group ${group}: ${snapshot.reason}`, group, ...withHooks };
  const blocked = hooks.find(hookBlocks);
  const { snapshot: ref, position } = snapshot.members[member];
  const { frozenAt, pointAt, releasedAt } = snapshot.times;
  return {
    status: blocked ? 'failed' : 'succeeded',
    reason: blocked ? hookFailure(blocked) : undefined,
    snapshot: ref,
    bytes: ref.size,
    takenAt: pointAt,
    startedAt: frozenAt,
    finishedAt: releasedAt,
    group,
    position,
    ...withHooks,
  };
}

function groupResult(name: string, members: string[], snapshot: Taken): GroupResult {
  if ('reason' in snapshot) return { group: name, members, reason: snapshot.reason };
  return { group: name, members, ...snapshot.times, hookDetails: snapshot.hookDetails };
}
