/**
 * The storage stack: the one function that turns a RepositorySpec into the backend a
 * Repository writes through, for the CLI and for activities alike (both open repositories
 * with Repository.open, which calls this). A wrapper added to `layers` here sees every
 * request, every write and every delete, whoever made it: the place for an audit log or
 * object lock.
 */
import type { RepositorySpec } from '../../contracts/repository-spec';
import type { StorageBackend } from './backend';
import { ConcurrencyLimitedBackend } from './limit';
import { openBackend } from './registry';
import { type ResilienceOptions, RetryingBackend, defaultResilience } from './retry';
import type { BackendWrapper } from './wrapper';

export interface StorageOptions {
  /** Prepare an absent repository's storage (a backup's first step). */
  create?: boolean;
  /** How requests are retried and how many are in flight; default: defaultResilience. */
  resilience?: ResilienceOptions;
  /** Outermost layers, in order, each around the last (tests: a failpoint; see test/support). */
  wrappers?: readonly BackendWrapper[];
}

export async function openStorage(
  spec: RepositorySpec,
  options: StorageOptions = {},
): Promise<StorageBackend> {
  const resilience = options.resilience ?? defaultResilience;
  // Innermost first. Retries sit inside the limit: a request keeps its slot while it waits to retry.
  const layers: BackendWrapper[] = [
    (inner) => new RetryingBackend(inner, resilience),
    (inner) => new ConcurrencyLimitedBackend(inner, resilience.concurrency),
    ...(options.wrappers ?? []),
  ];
  return layers.reduce((inner, wrap) => wrap(inner), await openBackend(spec, options.create === true));
}
