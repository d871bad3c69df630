/**
 * `lazarus verify` as a durable run: the structure check once, then the packs read in
 * batches, each its own activity, so a crash resumes at the batch it stopped in. The
 * batches agree on which packs to read through a seed drawn from the workflow's own
 * randomness, so no pack id goes through the history. Can run on a Temporal Schedule.
 */
import { proxyActivities, uuid4 } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { verifyBatch } from './activity-options';
import type { RepositorySpec } from '../contracts/repository-spec';
import type { VerifyReport } from '../repository/maintenance/verify';

export interface VerifyInput {
  spec: { app: string; repository: RepositorySpec };
  readData: boolean;
  /** The share of packs to read, 0 < subset <= 1. */
  subset?: number;
  /** Packs per batch activity. */
  packsPerBatch?: number;
}

const { verifyStructure, verifyPackBatch } = proxyActivities<Activities>(verifyBatch);

export async function verifyRepository(input: VerifyInput): Promise<VerifyReport> {
  const report = await verifyStructure({ repository: input.spec.repository });
  if (!input.readData || report.packs === 0) return report;
  const seed = uuid4();
  const chosen = Math.max(1, Math.ceil(report.packs * Math.min(1, input.subset ?? 1)));
  const count = Math.ceil(chosen / (input.packsPerBatch ?? 64));
  for (let index = 0; index < count; index++) {
    const batch = await verifyPackBatch({
      repository: input.spec.repository,
      subset: input.subset,
      seed,
      batch: { index, count },
    });
    report.problems.push(...batch.problems);
    report.packsRead += batch.packsRead;
    report.bytesRead += batch.bytesRead;
  }
  return report;
}
