/**
 * What separates a vhost's live definitions from a snapshot's: the objects an import
 * would silently keep with other arguments, the ones it would leave in place although
 * the snapshot lacks them, and the ones not (yet) there.
 */
import { canonical, type VhostDefinitions } from './definitions';

type Entry = Record<string, unknown>;

/** A queue or exchange that exists under the snapshot's name with other properties. */
export interface Mismatch {
  what: 'queue' | 'exchange';
  name: string;
  /** "x-max-length: 20 on the broker, 10 in the snapshot" */
  differences: string[];
}

/** Live objects the snapshot does not have: removed so the vhost ends up as the snapshot. */
export interface Extras {
  queues: string[];
  exchanges: string[];
  bindings: Entry[];
  policies: string[];
  parameters: { component: string; name: string }[];
  permissions: string[];
  topicPermissions: { user: string; exchange: string }[];
}

const queueFields = ['type', 'durable', 'auto_delete'];
const exchangeFields = ['type', 'durable', 'auto_delete', 'internal'];

export function mismatches(live: VhostDefinitions, wanted: VhostDefinitions): Mismatch[] {
  return [
    ...differing('queue', live.queues, wanted.queues, queueFields),
    ...differing('exchange', live.exchanges, wanted.exchanges, exchangeFields),
  ];
}

function differing(what: Mismatch['what'], live: Entry[], wanted: Entry[], fields: string[]): Mismatch[] {
  const byName = new Map(live.map((e) => [e.name, e]));
  const found: Mismatch[] = [];
  for (const want of wanted) {
    const have = byName.get(want.name);
    if (!have) continue;
    const differences = [
      ...fields
        .filter((f) => canonical(have[f]) !== canonical(want[f]))
        .map((f) => describe(f, have[f], want[f])),
      ...argumentDifferences(have.arguments as Entry | undefined, want.arguments as Entry | undefined),
    ];
    if (differences.length > 0) found.push({ what, name: String(want.name), differences });
  }
  return found;
}

function argumentDifferences(have: Entry = {}, want: Entry = {}): string[] {
  const keys = [...new Set([...Object.keys(have), ...Object.keys(want)])].sort();
  return keys
    .filter((k) => canonical(have[k]) !== canonical(want[k]))
    .map((k) => describe(`argument ${k}`, have[k], want[k]));
}

function describe(field: string, have: unknown, want: unknown): string {
  const show = (v: unknown) => (v === undefined ? 'not set' : canonical(v));
  return `${field}: ${show(have)} on the broker, ${show(want)} in the snapshot`;
}

export function extras(live: VhostDefinitions, wanted: VhostDefinitions): Extras {
  const names = (entries: Entry[] = []) => new Set(entries.map((e) => String(e.name)));
  const absent = <T>(liveEntries: Entry[] = [], wantedEntries: Entry[] = [], key: (e: Entry) => T) => {
    const keep = new Set(wantedEntries.map((e) => canonical(key(e))));
    return liveEntries.filter((e) => !keep.has(canonical(key(e)))).map(key);
  };
  const wantedQueues = names(wanted.queues);
  const wantedExchanges = names(wanted.exchanges);
  return {
    queues: [...names(live.queues)].filter((n) => !wantedQueues.has(n)),
    exchanges: [...names(live.exchanges)].filter((n) => !wantedExchanges.has(n)),
    bindings: absent(live.bindings, wanted.bindings, (e) => e),
    policies: absent(live.policies, wanted.policies, (e) => String(e.name)),
    parameters: absent(live.parameters, wanted.parameters, (e) => ({
      component: String(e.component),
      name: String(e.name),
    })),
    // Access is only ever touched when the snapshot carries it (`users: true`).
    permissions: wanted.users ? absent(live.permissions, wanted.permissions, (e) => String(e.user)) : [],
    topicPermissions: wanted.users
      ? absent(live.topic_permissions, wanted.topic_permissions, (e) => ({
          user: String(e.user),
          exchange: String(e.exchange),
        }))
      : [],
  };
}

/** The snapshot's objects the live vhost lacks or holds otherwise, as short names for a message. */
export function notYetThere(live: VhostDefinitions, wanted: VhostDefinitions): string[] {
  const parts = ['exchanges', 'queues', 'bindings', 'policies', 'parameters', 'permissions'] as const;
  const missing: string[] = [];
  for (const part of parts) {
    const have = new Set((live[part] ?? []).map(canonical));
    for (const want of wanted[part] ?? [])
      if (!have.has(canonical(want))) missing.push(`${part.replace(/s$/, '')} ${label(want)}`);
  }
  if (canonical(live.metadata) !== canonical(wanted.metadata)) missing.push('the vhost metadata');
  return missing;
}

function label(entry: Entry): string {
  if ('destination' in entry) return `${String(entry.source)} -> ${String(entry.destination)}`;
  return String(entry.name ?? entry.user);
}
