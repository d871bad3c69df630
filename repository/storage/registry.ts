/**
 * Which backend a repository location names (restic's location registry, kopia's
 * AddSupportedStorage): a URL's scheme picks a factory (s3://bucket/prefix), and a
 * location without one is a local directory. A new backend is one file with its factory,
 * plus its line in `factories`.
 */
import type { RepositorySpec } from '../../contracts/repository-spec';
import { UserError } from '../../model/errors';
import { schemeOf } from '../../model/paths';
import type { StorageBackend } from './backend';
import { localBackends } from './local';
import { memoryBackends } from './memory';
import { s3Backends } from './s3';

export interface BackendFactory {
  /** The URL scheme of the locations it opens: "s3" for s3://…; "" for a plain path. */
  scheme: string;
  /** The backend at the spec's location; `create`: prepare an absent one (a first backup). */
  open(spec: RepositorySpec, options: { create: boolean }): Promise<StorageBackend>;
}

const factories: readonly BackendFactory[] = [localBackends, s3Backends, memoryBackends];

export function openBackend(spec: RepositorySpec, create: boolean): Promise<StorageBackend> {
  const scheme = schemeOf(spec.location);
  const factory = factories.find((f) => f.scheme === scheme);
  if (!factory)
    throw new UserError(
      `repository ${spec.location}: no backend for "${scheme}://" locations ` +
        `(known: a directory, ${factories.flatMap((f) => (f.scheme ? [`${f.scheme}://`] : [])).join(', ')})`,
    );
  return factory.open(spec, { create });
}
