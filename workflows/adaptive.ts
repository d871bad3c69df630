/**
 * The adaptive scheduler: a long-running workflow per application that, at each check,
 * moves each adaptive tier's backup interval within its bounds according to how fast its
 * stores change (model/adaptive.ts). Every change is an activity in this workflow's
 * history with its reason, the schedule's note, and an entry of the `intervalChanges`
 * query. Continues as new before its history grows long.
 */
import {
  continueAsNew,
  defineQuery,
  proxyActivities,
  setHandler,
  sleep,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { scheduleStep } from './activity-options';
import type { AdaptiveSchedule, ScheduleProposal } from '../activities/adaptive';
import type { RepositorySpec } from '../contracts/repository-spec';

export interface AdaptiveInput {
  app: string;
  repository: RepositorySpec;
  schedules: AdaptiveSchedule[];
  checkEveryMs: number;
  /** Changes made by earlier runs of this workflow, carried over continue-as-new. */
  changes?: IntervalChange[];
}

export interface IntervalChange extends ScheduleProposal {
  at: string;
}

export const intervalChangesQuery = defineQuery<IntervalChange[]>('intervalChanges');

const { proposeIntervals, setScheduleInterval } = proxyActivities<Activities>(scheduleStep);

/** Checks per run before continuing as new: about 4 events each, far below the history limits. */
const checksPerRun = 500;
const changesKept = 100;

export async function adaptSchedules(input: AdaptiveInput): Promise<void> {
  const changes = input.changes ?? [];
  setHandler(intervalChangesQuery, () => changes);
  for (let check = 0; check < checksPerRun && !workflowInfo().continueAsNewSuggested; check++) {
    await sleep(input.checkEveryMs);
    const proposals = await proposeIntervals({
      app: input.app,
      repository: input.repository,
      schedules: input.schedules,
    });
    for (const proposal of proposals) {
      // Histories from before it returned a result hold undefined: that counts as done.
      if ((await setScheduleInterval(proposal)) === false) continue;
      changes.push({ ...proposal, at: new Date().toISOString() });
      upsertMemo({ lastChange: `${proposal.scheduleId}: ${proposal.reason}` });
    }
    changes.splice(0, Math.max(0, changes.length - changesKept));
  }
  await continueAsNew<typeof adaptSchedules>({ ...input, changes });
}
