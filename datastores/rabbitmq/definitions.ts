/**
 * A broker's definitions (what `rabbitmqctl export_definitions` writes) cut down to one
 * vhost and normalized: every object without its vhost name, arrays in a fixed order, so
 * that the same topology in two vhosts, exported in any order, compares and hashes equal.
 */
import { createHash } from 'node:crypto';

type Entry = Record<string, unknown>;

/** The whole broker's export, as the broker writes it; only the parts read here are named. */
export interface BrokerDefinitions {
  rabbit_version?: string;
  vhosts?: Entry[];
  users?: Entry[];
  permissions?: Entry[];
  topic_permissions?: Entry[];
  policies?: Entry[];
  parameters?: Entry[];
  exchanges?: Entry[];
  queues?: Entry[];
  bindings?: Entry[];
}

/** One vhost's objects, each without its `vhost` field. */
export interface VhostTopology {
  metadata: Entry;
  exchanges: Entry[];
  queues: Entry[];
  bindings: Entry[];
  policies: Entry[];
  /** Runtime parameters: vhost-limits, shovels, federation upstreams. */
  parameters: Entry[];
}

/** With `users: true`: the users that have permissions on the vhost, and those permissions. */
export interface VhostAccess {
  users: Entry[];
  permissions: Entry[];
  topic_permissions: Entry[];
}

export type VhostDefinitions = VhostTopology & Partial<VhostAccess>;

/** What a snapshot holds: the normalized definitions, and where they came from (information only). */
export interface DefinitionsSnapshot {
  format: typeof snapshotFormat;
  source: { vhost: string; rabbitmq_version?: string };
  definitions: VhostDefinitions;
}

export const snapshotFormat = 'lazarus-rabbitmq-definitions/1';

type VhostPart =
  'exchanges' | 'queues' | 'bindings' | 'policies' | 'parameters' | 'permissions' | 'topic_permissions';

/** The vhost's definitions out of a broker export, or undefined when the broker has no such vhost. */
export function vhostDefinitions(
  all: BrokerDefinitions,
  vhost: string,
  withUsers: boolean,
): VhostDefinitions | undefined {
  const entry = (all.vhosts ?? []).find((v) => v.name === vhost);
  if (!entry) return undefined;
  const of = (part: VhostPart) =>
    sorted((all[part] ?? []).filter((e) => e.vhost === vhost).map(withoutVhost));
  const topology: VhostTopology = {
    metadata: normalMetadata(entry.metadata),
    exchanges: of('exchanges'),
    queues: of('queues'),
    bindings: of('bindings'),
    policies: of('policies'),
    parameters: of('parameters'),
  };
  if (!withUsers) return topology;
  const permissions = of('permissions');
  const topicPermissions = of('topic_permissions');
  const names = new Set([...permissions, ...topicPermissions].map((p) => p.user));
  // A user's `limits` are broker-wide settings an import leaves as they are.
  const users = sorted((all.users ?? []).filter((u) => names.has(u.name)));
  return { ...topology, users, permissions, topic_permissions: topicPermissions };
}

/** The definitions as an import file for `vhost`: every object named into it. */
export function importFile(
  defs: VhostDefinitions,
  vhost: string,
  parts: 'topology' | 'all',
): BrokerDefinitions {
  const into = (entries: Entry[] = []) => entries.map((e) => ({ ...e, vhost }));
  const file: BrokerDefinitions = {
    vhosts: [{ name: vhost, metadata: defs.metadata }],
    exchanges: into(defs.exchanges),
    queues: into(defs.queues),
    bindings: into(defs.bindings),
    policies: into(defs.policies),
    parameters: into(defs.parameters),
  };
  if (parts === 'topology' || !defs.users) return file;
  return {
    ...file,
    users: defs.users,
    permissions: into(defs.permissions),
    topic_permissions: into(defs.topic_permissions),
  };
}

/** Only the topology: what a staging vhost holds (users are broker-wide, so never staged). */
export function topologyOf(defs: VhostDefinitions): VhostTopology {
  const { metadata, exchanges, queues, bindings, policies, parameters } = defs;
  return { metadata, exchanges, queues, bindings, policies, parameters };
}

/** SHA-256 of the canonical JSON: independent of object order and of the vhost's name. */
export function definitionsHash(defs: VhostDefinitions): string {
  return createHash('sha256').update(canonical(defs)).digest('hex');
}

/** JSON with every object's keys sorted, so equal definitions are equal text. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Entry)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function sorted(entries: Entry[]): Entry[] {
  return entries
    .map((e) => [canonical(e), e] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, e]) => e);
}

function withoutVhost(entry: Entry): Entry {
  const rest = { ...entry };
  delete rest.vhost;
  return rest;
}

/**
 * `add_vhost --tags a,b` stores the tags as one string, an import as a list: both are the
 * list here. The limits are left out: they are the `vhost-limits` parameter as well.
 */
function normalMetadata(metadata: unknown): Entry {
  const meta = (metadata ?? {}) as Entry;
  const tags = typeof meta.tags === 'string' ? meta.tags.split(',').filter(Boolean) : (meta.tags ?? []);
  return { ...meta, description: meta.description ?? '', tags: [...(tags as string[])].sort() };
}
