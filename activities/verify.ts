/** `lazarus verify` steps: the repository's structure, and batches of its packs read back. */
import type { RepositorySpec } from '../contracts/repository-spec';
import type { VerifyReport } from '../repository/maintenance/verify';
import type { FeatureDeps } from './deps';
import { withHeartbeats } from './support';

export function verifyActivities({ repositories }: Pick<FeatureDeps, 'repositories'>) {
  return {
    /** The repository's structure: indexes, packs, trees; reads no data. */
    async verifyStructure(input: { repository: RepositorySpec }): Promise<VerifyReport> {
      const repo = await repositories.open(input.repository);
      return withHeartbeats(() => repo.verify());
    },

    /** Reads and re-hashes one batch of the packs a verify run chose. */
    async verifyPackBatch(input: {
      repository: RepositorySpec;
      subset?: number;
      seed: string;
      batch: { index: number; count: number };
    }): Promise<VerifyReport> {
      const repo = await repositories.open(input.repository);
      return withHeartbeats((progress) =>
        repo.verify({
          readData: true,
          dataOnly: true,
          subset: input.subset,
          seed: input.seed,
          batch: input.batch,
          onProgress: (done) => progress({ phase: 'read packs', bytes: done }),
        }),
      );
    },
  };
}
