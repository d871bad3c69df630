/** One Repository (its index and codec workers) per repository and worker process. */
import type { RepositorySpec } from '../contracts/repository-spec';
import type { Repository } from '../repository/repository';
import type { ActivityDeps, Repositories } from './deps';
import { withoutRetryingUserErrors } from './support';

/**
 * Opens each repository once through `deps.openRepository`. Only `create` (a backup's
 * first step) initialises a missing one: restores, drills and verifies refuse it, naming
 * the manifest field.
 */
export function repositoryCache(deps: Pick<ActivityDeps, 'openRepository' | 'repository'>): Repositories {
  const opened = new Map<string, Promise<Repository>>();
  const openAnew = (key: string, spec: RepositorySpec, create: boolean): Promise<Repository> => {
    // A wrong password or a missing repository is the same on every attempt: fail the step at once.
    const opening = withoutRetryingUserErrors(() =>
      deps.openRepository(spec, { ...deps.repository, create }),
    );
    // A wrong password may be fixed, a missing repository backed up: try again next time.
    opening.catch(() => opened.get(key) === opening && opened.delete(key));
    opened.set(key, opening);
    return opening;
  };
  return {
    open(spec, create = false) {
      const key = JSON.stringify(spec);
      const cached = opened.get(key);
      if (!cached) return openAnew(key, spec, create);
      return create ? cached.catch(() => openAnew(key, spec, true)) : cached;
    },
  };
}
