/**
 * Where a drill restores: for every stateful service, a copy that is never a production
 * target (another file or directory under the sandbox, another database name, the Redis
 * index set aside for drills). Pure, so the CLI checks it before starting and the
 * workflow again before restoring.
 */
import { derivedName } from '../model/names';
import { nested, within } from '../model/paths';
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
  const stores = Object.entries(spec.services).filter(
    (entry): entry is [string, { datastore: Datastore } & (typeof entry)[1]] =>
      entry[1].datastore !== undefined,
  );
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
    if ((datastore.kind === 'sqlite' || datastore.kind === 'directory') && within(datastore.path, root)) {
      problems.push(`${service} keeps its data under the drill sandbox ${root}: set drill.sandbox elsewhere`);
    }
  }
  return { root, targets, problems };
}

/** Would restoring `store` into `target` touch `production`? */
function overlaps(store: Datastore, target: string, production: Datastore): boolean {
  if (store.kind !== production.kind) {
    const paths = [store, production].every((s) => s.kind === 'sqlite' || s.kind === 'directory');
    return paths && 'path' in production && nested(target, production.path);
  }
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
