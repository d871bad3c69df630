import type { Manifest } from '../model/manifest';
import type { AppSpec } from '../workflows/types';

/** What a run needs of a manifest: secret references stay references. */
export function appSpec(manifest: Manifest): AppSpec {
  return {
    app: manifest.app,
    repository: manifest.repository,
    services: manifest.services,
    hooks: manifest.hooks,
    consistencyGroups: manifest.consistencyGroups,
    tiers: manifest.tiers,
    sandbox: manifest.sandbox,
  };
}

/** The part of an application a tier's run covers: its services, and the groups among them. */
export function subsetOf(spec: AppSpec, services: readonly string[]): AppSpec {
  const keep = new Set(services);
  return {
    ...spec,
    services: Object.fromEntries(Object.entries(spec.services).filter(([name]) => keep.has(name))),
    consistencyGroups: Object.fromEntries(
      Object.entries(spec.consistencyGroups ?? {}).filter(([, g]) => g.members.every((m) => keep.has(m))),
    ),
  };
}
