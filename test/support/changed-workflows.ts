/**
 * A backupApplication changed the way that breaks runs in flight: it now starts with a
 * step that recorded runs never took. Replay must report it as non-deterministic.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { BackupInput } from '../../workflows/types';

const { verifyStructure } = proxyActivities<Activities>({ startToCloseTimeout: '1 minute' });

export async function backupApplication(input: BackupInput): Promise<void> {
  await verifyStructure({ repository: input.spec.repository });
}
