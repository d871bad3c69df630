/**
 * A consistency group's checkpoints while its members are captured: every `everyMs`, one
 * checkpoint recording each member's log position at the same instant, Zerto-style. A
 * restore to a checkpoint gives the group one instant. Workflow ID
 * `checkpoints/<app>/<group>`; runs until stopped, continuing as new.
 */
import {
  condition,
  continueAsNew,
  defineSignal,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { RepositorySpec } from '../contracts/repository-spec';
import type { Datastore, Hook } from '../model/manifest';
import { catalogStep } from './activity-options';

export interface GroupCheckpointsInput {
  spec: { app: string; repository: RepositorySpec };
  group: string;
  members: Array<{ service: string; datastore: Datastore }>;
  everyMs: number;
  pause?: Hook;
  resume?: Hook;
}

export const stopCheckpointsSignal = defineSignal('stopCheckpoints');

const { groupCheckpoint } = proxyActivities<Activities>(catalogStep);

/** Checkpoints per run before continuing as new. */
const CHECKPOINTS_PER_RUN = 500;

export async function checkpointGroup(input: GroupCheckpointsInput): Promise<number> {
  let stopping = false;
  setHandler(stopCheckpointsSignal, () => void (stopping = true));
  for (let taken = 0; taken < CHECKPOINTS_PER_RUN; taken++) {
    if (await condition(() => stopping, input.everyMs)) return taken;
    await groupCheckpoint({
      repository: input.spec.repository,
      app: input.spec.app,
      group: input.group,
      // Unique, and a valid PostgreSQL restore point name (at most 63 characters).
      name: `lz_${input.group.replace(/-/g, '_')}_${Date.now()}`.slice(0, 63),
      members: input.members,
      pause: input.pause,
      resume: input.resume,
    });
    if (workflowInfo().continueAsNewSuggested) break;
  }
  return continueAsNew<typeof checkpointGroup>(input);
}
