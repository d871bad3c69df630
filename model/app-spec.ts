/** The part of a manifest a run carries: what workflows, tools and the CLI start runs with. Pure. */
import type {
  AppHookName,
  ConsistencyGroup,
  Hook,
  Manifest,
  Service,
  TierName,
  TierTarget,
} from './manifest';
import type { RepositorySpec } from '../contracts/repository-spec';

/** The part of a manifest a run needs: no secret values, only references to them. */
export interface AppSpec {
  app: string;
  repository: RepositorySpec;
  services: Record<string, Service>;
  hooks?: Partial<Record<AppHookName, Hook>>;
  consistencyGroups?: Record<string, ConsistencyGroup>;
  tiers?: Record<TierName, TierTarget>;
  /** Where drills restore file-based stores. */
  sandbox?: string;
}

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
