/**
 * Where a drill restores: for every stateful service, a copy that is never a production
 * target (another file or directory under the sandbox, another database name, the Redis
 * index set aside for drills); and whether a restore's `--target`s are as safe. Pure, so
 * the CLI checks it before starting and the workflow again before restoring.
 */
import { derivedName } from '../model/names';
import { isLocalLocation, nested, within } from '../model/paths';
import type { Datastore } from '../model/manifest';
import type { AppSpec } from './types';

export interface Sandbox {
  /** The drill's own directory, removed at teardown. */
  root: string;
  /** service -> the target its copy is restored into. */
  targets: Record<string, string>;
  /** Why the sandbox would not be safe; a drill with any problem does not start. */
  problems: string[];
}

export function sandboxFor(spec: AppSpec, drillKey: string): Sandbox {
  const root = `${(spec.sandbox ?? '.lazarus/sandbox').replace(/\/+$/, '')}/${drillKey}`;
  const targets: Record<string, string> = {};
  const problems: string[] = [];
  const stores = storesOf(spec);
  for (const [service, { datastore: store }] of stores) {
    switch (store.kind) {
      case 'sqlite':
        targets[service] = `${root}/${service}.db`;
        break;
      case 'directory':
        targets[service] = `${root}/${service}`;
        break;
      case 'postgres':
      case 'mariadb':
        targets[service] = derivedName(store.database, `lzd_${drillKey}`);
        break;
      case 'redis':
        if (store.sandbox_db === undefined) {
          problems.push(
            `services.${service}.datastore.sandbox_db is not set: name an empty Redis database index for drills`,
          );
        } else targets[service] = String(store.sandbox_db);
        break;
    }
  }
  for (const [service, { datastore }] of stores) {
    const target = targets[service];
    if (target === undefined) continue;
    for (const [other, { datastore: production }] of stores) {
      if (overlaps(datastore, target, production)) {
        problems.push(`the sandbox copy of ${service} (${target}) would overwrite ${other}'s data`);
      }
    }
    if (isPath(datastore) && within(datastore.path, root)) {
      problems.push(`${service} keeps its data under the drill sandbox ${root}: set drill.sandbox elsewhere`);
    }
  }
  return { root, targets, problems };
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
  if (isPath(store) && isLocalLocation(repository) && nested(target, repository))
    problems.push(`${service}=${target} overlaps the repository ${repository}`);
  return problems;
}

/** A target the worker reads as meant: an absolute, normalised path; a database name; an index. */
function targetFormProblem(store: Datastore, target: string): string | undefined {
  switch (store.kind) {
    case 'sqlite':
    case 'directory': {
      const parts = target.split('/');
      const normal = parts[0] === '' && parts.slice(1).every((p) => p !== '' && p !== '.' && p !== '..');
      return normal ? undefined : 'write an absolute path without ".", ".." or "//"';
    }
    case 'postgres':
    case 'mariadb':
      return target.trim() === '' ? 'name a database' : undefined;
    case 'redis':
      return /^\d+$/.test(target) ? undefined : 'name a Redis database index, such as 5';
  }
}

/** The store a restore into `target` writes: `store` with the path, database or index replaced. */
function retargeted(store: Datastore, target: string): Datastore {
  switch (store.kind) {
    case 'sqlite':
    case 'directory':
      return { ...store, path: target };
    case 'postgres':
    case 'mariadb':
      return { ...store, database: target };
    case 'redis':
      return { ...store, db: Number(target) };
  }
}

function storesOf(spec: AppSpec) {
  return Object.entries(spec.services).filter(
    (entry): entry is [string, { datastore: Datastore } & (typeof entry)[1]] =>
      entry[1].datastore !== undefined,
  );
}

function isPath(store: Datastore): store is Extract<Datastore, { path: string }> {
  return store.kind === 'sqlite' || store.kind === 'directory';
}

/** Would restoring `store` into `target` touch `production`? */
function overlaps(store: Datastore, target: string, production: Datastore): boolean {
  if (store.kind !== production.kind)
    return isPath(store) && isPath(production) && nested(target, production.path);
  switch (production.kind) {
    case 'sqlite':
    case 'directory':
      return nested(target, production.path);
    case 'postgres':
    case 'mariadb':
      return sameServer(store, production) && production.database === target;
    case 'redis':
      return sameServer(store, production) && [production.db, production.staging_db].includes(Number(target));
  }
}

function sameServer(a: Datastore, b: Datastore): boolean {
  return 'host' in a && 'host' in b && a.host === b.host && a.port === b.port;
}
