/**
 * What a datastore kind is, apart from its I/O: its manifest schema, the validators it
 * accepts, where a drill puts its copy, what it overlaps, its identity across manifests,
 * and how discovery recognises it. One `defineKind` per kind, in datastores/<kind>/spec.ts,
 * listed once in datastores/registry.ts. Pure, without Node built-ins: workflows import it.
 */
import { z } from 'zod';
import { derivedName } from '../model/names';
import { nested } from '../model/paths';
import { secretRefSchema } from '../model/secret-ref';
import type { ValidatorType } from '../model/validators';

/** Where a drill puts a service's copy: the drill's own directory and key. */
export interface SandboxPlace {
  service: string;
  /** The drill's directory, removed at teardown. */
  root: string;
  drillKey: string;
}

/** The target a drill restores a service's copy into, or why there can be none. */
export type SandboxTarget = { target: string } | { problem: string };

/** How discovery tells an engine this kind backs up: image names, ports, variables only it reads. */
export interface EngineHint {
  engine: string;
  /** Matched against the image name without registry and tag: "library/postgres" -> "postgres". */
  images: RegExp;
  ports: number[];
  /** Variables only the engine's own images read (MYSQL_ROOT_PASSWORD, PGDATA), not the ones clients use too. */
  env?: RegExp;
}

export interface DiscoveryHints {
  tier: string;
  engines: EngineHint[];
  /** The manifest datastore of a Compose service, reached by its service name on the Compose network. */
  fromCompose(host: string, env: Record<string, string>): Record<string, unknown>;
}

/** A kind's manifest schema: a strict object whose `kind` is the kind's name. */
export type KindSchema = z.ZodType<{ kind: string }> & z.core.$ZodTypeDiscriminable;

/**
 * Every member but `discovery` is required: a kind cannot be registered
 * without saying where a drill restores it (`sandboxTarget`) and what it overlaps.
 */
export interface DatastoreSpec<S extends KindSchema = KindSchema> {
  readonly kind: z.output<S>['kind'];
  readonly schema: S;
  /** The validator types a drill may run against this kind's copy. */
  readonly validators: readonly ValidatorType[];
  /** A file or directory on the worker's filesystem (relative to the manifest), or a store on a server. */
  readonly storedAt: 'path' | 'server';
  /** Where a drill restores the copy: never the store itself (the contract tests check it). */
  sandboxTarget(store: z.output<S>, place: SandboxPlace): SandboxTarget;
  /** Why a `--target` is not one the worker reads as meant: an absolute path, a database name, an index. */
  targetFormProblem(target: string): string | undefined;
  /** The store a restore into `target` writes: the path, database or index replaced. */
  retarget(store: z.output<S>, target: string): z.output<S>;
  /** Would writing `copy` touch `production` (a store of the same kind)? */
  overlaps(copy: z.output<S>, production: z.output<S>): boolean;
  /** The store's identity across manifests, for drift: the server and database, the path. */
  identity(store: z.output<S>): string;
  readonly discovery?: DiscoveryHints;
  /**
   * Continuous capture (`pitr:` in the manifest): the log this kind streams, for messages.
   * A kind that declares it has a CaptureEngine in datastores/capture-engines.ts.
   */
  readonly capture?: { log: string };
}

export function defineKind<S extends KindSchema>(spec: DatastoreSpec<S>): DatastoreSpec<S> {
  return spec;
}

export const portSchema = z.number().int().min(1).max(65535);

/** The members path kinds share: an absolute path is the target, and paths overlap by nesting. */
export const pathStore = {
  storedAt: 'path',
  targetFormProblem(target: string): string | undefined {
    const parts = target.split('/');
    const normal = parts[0] === '' && parts.slice(1).every((p) => p !== '' && p !== '.' && p !== '..');
    return normal ? undefined : 'write an absolute path without ".", ".." or "//"';
  },
  retarget: <D extends { path: string }>(store: D, target: string): D => ({ ...store, path: target }),
  overlaps: (copy: { path: string }, production: { path: string }) => nested(copy.path, production.path),
  identity: (store: { kind: string; path: string }) => `${store.kind}:${store.path}`,
} as const;

/** A database server reached over the network: PostgreSQL and MariaDB/MySQL share these fields. */
export function databaseServerSchema<K extends string>(kind: K, defaultPort: number, defaultUser: string) {
  return z.strictObject({
    kind: z.literal(kind),
    host: z.string().default('127.0.0.1'),
    port: portSchema.default(defaultPort),
    user: z.string().default(defaultUser),
    database: z.string().min(1),
    password: secretRefSchema.optional(),
  });
}

interface ServerStore {
  kind: string;
  host: string;
  port: number;
}

export function sameServer(a: ServerStore, b: ServerStore): boolean {
  return a.host === b.host && a.port === b.port;
}

/** `kind:host:port`, localhost and 127.0.0.1 being one host. */
export function serverIdentity(store: ServerStore): string {
  return `${store.kind}:${store.host.replace(/^localhost$/, '127.0.0.1')}:${store.port}`;
}

/** The validators of a store queried with SQL. */
export const sqlValidators = ['sql', 'row_count', 'checksum', 'command', 'http'] as const;

interface DatabaseStore extends ServerStore {
  database: string;
}

/** The members database-server kinds share: a drill's copy is a database of its own beside the original. */
export const databaseOnServer = {
  storedAt: 'server',
  validators: sqlValidators,
  sandboxTarget: (store: { database: string }, { drillKey }: SandboxPlace): SandboxTarget => ({
    target: derivedName(store.database, `lzd_${drillKey}`),
  }),
  targetFormProblem: (target: string) => (target.trim() === '' ? 'name a database' : undefined),
  retarget: <D extends { database: string }>(store: D, target: string): D => ({ ...store, database: target }),
  overlaps: (copy: DatabaseStore, production: DatabaseStore) =>
    sameServer(copy, production) && copy.database === production.database,
  identity: (store: DatabaseStore) => `${serverIdentity(store)}/${store.database}`,
} as const;

/**
 * Where a drill restores the bindings of a workerd host whose state directory is `state`:
 * one persist root per host under the drill's directory, so that a copy of the host finds
 * all of its D1, KV and R2 data together, each file where workerd looks for it.
 */
export function workerdSandboxState(root: string, state: string): string {
  return `${root}/workerd-state/${encodeURIComponent(state.replace(/^\/+/, ''))}`;
}

/**
 * The members the kinds of a workerd host's resources (d1, kv, r2) share: the store is a
 * resource kept in the host's state directory (`path`), named by its own id there. A
 * restore writes that resource's files only, so two stores overlap when their state
 * directories nest and they name the same resource.
 */
export function workerdResource<D extends { kind: string; path: string }>(resourceId: (store: D) => string) {
  return {
    ...pathStore,
    sandboxTarget: (store: D, { root }: SandboxPlace): SandboxTarget => ({
      target: workerdSandboxState(root, store.path),
    }),
    overlaps: (copy: D, production: D) =>
      nested(copy.path, production.path) && resourceId(copy) === resourceId(production),
    identity: (store: D) => `${store.kind}:${store.path}#${resourceId(store)}`,
  } as const;
}

/** The description of a workerd resource's `path`. */
export const WORKERD_STATE_PATH =
  "The workerd host's state directory, the function's `state` (miniflare's persist root: d1/, kv/, r2/ are in it)";
