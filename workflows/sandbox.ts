/**
 * Where a drill restores: for every stateful service, a copy that is never a production
 * target (another file or directory under the sandbox, another database name, the Redis
 * index set aside for drills); and whether a restore's `--target`s are as safe. Pure, so
 * the CLI checks it before starting and the workflow again before restoring.
 */
import { type AnyDatastoreSpec, isPathStore, specFor } from '../datastores/registry';
import { isLocalLocation, nested, within } from '../model/paths';
import { platformSpecFor } from '../functions/registry';
import type { Datastore, DatastoreKind } from '../model/manifest';
import type { AppSpec } from './types';

export interface Sandbox {
  /** The drill's own directory, removed at teardown. */
  root: string;
  /** service -> the target its copy is restored into. */
  targets: Record<string, string>;
  /** Why the sandbox would not be safe; a drill with any problem does not start. */
  problems: string[];
}

/** The specs sandbox planning reads; a test passes its own to prove the refusals. */
export type SpecLookup = (kind: DatastoreKind) => AnyDatastoreSpec;

export function sandboxFor(spec: AppSpec, drillKey: string, specs: SpecLookup = specFor): Sandbox {
  const root = `${(spec.sandbox ?? '.lazarus/sandbox').replace(/\/+$/, '')}/${drillKey}`;
  const targets: Record<string, string> = {};
  const problems: string[] = [];
  const stores = storesOf(spec);
  for (const [service, { datastore: store }] of stores) {
    const planned = plannedTarget(specs, store, { service, root, drillKey });
    if ('target' in planned) targets[service] = planned.target;
    else problems.push(planned.problem);
  }
  for (const [service, { datastore }] of stores) {
    const target = targets[service];
    if (target === undefined) continue;
    for (const [other, { datastore: production }] of stores) {
      if (overlaps(datastore, target, production, specs)) {
        problems.push(`the sandbox copy of ${service} (${target}) would overwrite ${other}'s data`);
      }
    }
    if (isPathStore(datastore) && within(datastore.path, root)) {
      problems.push(`${service} keeps its data under the drill sandbox ${root}: set drill.sandbox elsewhere`);
    }
  }
  functionSandboxes(spec, { root, drillKey }, targets, problems);
  return { root, targets, problems };
}

/**
 * A function's copy is deployed beside the original (a sandbox host, a function of
 * another name), never over any production function.
 */
function functionSandboxes(
  spec: AppSpec,
  place: { root: string; drillKey: string },
  targets: Record<string, string>,
  problems: string[],
): void {
  const functions = Object.entries(spec.services).flatMap(([service, s]) =>
    s.function ? [[service, s.function] as const] : [],
  );
  for (const [service, fn] of functions) {
    const platform = platformSpecFor(fn.platform);
    const planned = platform.sandboxTarget(fn, { ...place, service });
    if ('problem' in planned) {
      problems.push(planned.problem);
      continue;
    }
    targets[service] = planned.target;
    const copy = platform.retarget(fn, planned.target);
    for (const [other, production] of functions) {
      if (production.platform === fn.platform && platform.overlaps(copy, production))
        problems.push(`the sandbox copy of ${service} (${planned.target}) would replace ${other}`);
    }
  }
}

/**
 * Why restoring into these targets (`--target service=target`) would not be safe. A
 * target is a new place beside the original: never the service's own store, another
 * service's (or its target), nor the repository; and a path the worker cannot misread,
 * since a relative one would resolve against the worker's directory, on another machine.
 */
export function targetProblems(spec: AppSpec, targets: Record<string, string>): string[] {
  const mapped = Object.entries(targets);
  return mapped.flatMap(([service, target], i) => {
    const store = spec.services[service]?.datastore;
    const malformed = store ? targetFormProblem(store, target) : 'the service has no datastore to restore';
    if (malformed || !store) return [`${service}=${target}: ${malformed}`];
    const clashes = mapped
      .slice(i + 1)
      .filter(([other, to]) => {
        const copy = spec.services[other]?.datastore;
        return copy && overlaps(store, target, retargeted(copy, to));
      })
      .map(([other, to]) => `${service}=${target} and ${other}=${to} would overwrite each other`);
    return [...overwrites(spec, service, store, target), ...clashes];
  });
}

/** The production data, and the repository, a restore of `service` into `target` would replace. */
function overwrites(spec: AppSpec, service: string, store: Datastore, target: string): string[] {
  const problems = storesOf(spec)
    .filter(([, { datastore }]) => overlaps(store, target, datastore))
    .map(([other]) =>
      other === service
        ? `${service}=${target} is ${service}'s own data (or its staging area): restore it in place without --target, or name another target`
        : `${service}=${target} would overwrite ${other}'s data`,
    );
  const repository = spec.repository.location;
  if (isPathStore(store) && isLocalLocation(repository) && nested(target, repository))
    problems.push(`${service}=${target} overlaps the repository ${repository}`);
  return problems;
}

/**
 * A stateful service's sandbox target, from its kind's spec. A spec is typed to have one,
 * but a target that comes out empty must not let the drill go on: without a target the
 * restore would go into the production store.
 */
function plannedTarget(
  specs: SpecLookup,
  store: Datastore,
  place: { service: string; root: string; drillKey: string },
): { target: string } | { problem: string } {
  const planned = specs(store.kind).sandboxTarget?.(store, place);
  if (planned && 'problem' in planned) return planned;
  if (planned && 'target' in planned && planned.target) return planned;
  return {
    problem: `services.${place.service}.datastore: a ${store.kind} datastore has no sandbox target, so a drill would restore into the production store; refusing to start`,
  };
}

/** A target the worker reads as meant: an absolute, normalised path; a database name; an index. */
function targetFormProblem(store: Datastore, target: string): string | undefined {
  return specFor(store.kind).targetFormProblem(target);
}

/** The store a restore into `target` writes: `store` with the path, database or index replaced. */
function retargeted(store: Datastore, target: string): Datastore {
  return specFor(store.kind).retarget(store, target);
}

function storesOf(spec: AppSpec) {
  return Object.entries(spec.services).filter(
    (entry): entry is [string, { datastore: Datastore } & (typeof entry)[1]] =>
      entry[1].datastore !== undefined,
  );
}

/** Would restoring `store` into `target` touch `production`? */
function overlaps(
  store: Datastore,
  target: string,
  production: Datastore,
  specs: SpecLookup = specFor,
): boolean {
  if (store.kind !== production.kind)
    return isPathStore(store) && isPathStore(production) && nested(target, production.path);
  return specs(production.kind).overlaps(specs(store.kind).retarget(store, target), production);
}
