/**
 * A vhost's definitions put back. An import is asynchronous, additive, and silently keeps
 * an existing queue whose arguments differ, so the restore (1) reads the whole snapshot
 * and compares it with the live vhost before writing anything, (2) stages it in a scratch
 * vhost and waits until that holds every object, (3) imports it into the live vhost,
 * deleting first what must be declared anew and afterwards what the snapshot lacks, and
 * (4) waits until the live vhost equals the snapshot.
 */
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatDuration } from '../../model/duration';
import { derivedName } from '../../model/names';
import { UserError } from '../../model/errors';
import type { AdapterContext } from '../adapter';
import { type RabbitmqStore, Rabbitmqctl, describeStore, withChannel } from './broker';
import { type Extras, type Mismatch, extras, mismatches, notYetThere } from './compare';
import {
  type DefinitionsSnapshot,
  type VhostDefinitions,
  canonical,
  importFile,
  snapshotFormat,
  topologyOf,
  vhostDefinitions,
} from './definitions';
import { preflight } from './preflight';

/** Definitions are a broker's metadata, not its data: far below this even for thousands of queues. */
const maxSnapshotBytes = 256 * 1024 * 1024;
const pollMs = 250;

export function stagingVhost(vhost: string, stagingId: string): string {
  return derivedName(vhost, `lzs_${stagingId}`);
}

export async function restoreVhost(store: RabbitmqStore, data: Readable, ctx: AdapterContext): Promise<void> {
  // All of it first: a snapshot cut off or damaged mid-stream fails here, before any write.
  const { definitions } = await readSnapshot(data, store);
  // Users and permissions are only ever written when the store asks for them.
  const wanted: VhostDefinitions = store.users ? definitions : topologyOf(definitions);
  const ctl = new Rabbitmqctl(store);
  const all = await preflight(store, ctl, { vhostMayBeMissing: true });
  const live = vhostDefinitions(all, store.vhost, store.users);
  const conflicts = live ? mismatches(live, wanted) : [];
  if (conflicts.length > 0 && store.on_mismatch === 'report') throw mismatchError(store, conflicts);

  await stage(ctl, store, wanted, ctx);

  if (live) await deleteAll(store, ctl, redeclared(conflicts));
  else await createVhost(ctl, store, !wanted.users);
  await ctl.importFile(importFile(wanted, store.vhost, 'all'), ctx.signal);
  if (live) await deleteAll(store, ctl, withoutBindingsOf(extras(live, wanted), conflicts));
  await untilEqual(ctl, store, store.vhost, wanted, ctx.signal);
}

export async function discardStaging(store: RabbitmqStore, ctx: AdapterContext): Promise<void> {
  await deleteVhost(new Rabbitmqctl(store), stagingVhost(store.vhost, ctx.stagingId), ctx.signal);
}

async function readSnapshot(data: Readable, store: RabbitmqStore): Promise<DefinitionsSnapshot> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of data) {
    size += (chunk as Buffer).length;
    if (size > maxSnapshotBytes)
      throw new Error(`${describeStore(store)}: the snapshot exceeds ${maxSnapshotBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  let parsed: DefinitionsSnapshot | undefined;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as DefinitionsSnapshot;
  } catch {
    parsed = undefined;
  }
  if (parsed?.format !== snapshotFormat)
    throw new UserError(
      `${describeStore(store)}: the snapshot is not a RabbitMQ definitions snapshot (${snapshotFormat})`,
    );
  return parsed;
}

/** The topology imported into a scratch vhost and checked complete there; then the scratch vhost goes. */
async function stage(ctl: Rabbitmqctl, store: RabbitmqStore, wanted: VhostDefinitions, ctx: AdapterContext) {
  const scratch = stagingVhost(store.vhost, ctx.stagingId);
  await deleteVhost(ctl, scratch, ctx.signal); // what an interrupted attempt of this run left
  const topology = topologyOf(wanted);
  await ctl.importFile(importFile(topology, scratch, 'topology'), ctx.signal);
  await untilEqual(ctl, store, scratch, topology, ctx.signal);
  await deleteVhost(ctl, scratch, ctx.signal);
}

/** Polls the vhost's definitions until they equal `wanted`, or fails naming what is still missing. */
async function untilEqual(
  ctl: Rabbitmqctl,
  store: RabbitmqStore,
  vhost: string,
  wanted: VhostDefinitions,
  signal: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + store.import_timeout;
  const target = canonical(wanted);
  for (;;) {
    const found = vhostDefinitions(await ctl.exportAll(signal), vhost, wanted.users !== undefined);
    const live = found && (wanted.users ? found : topologyOf(found));
    if (live && canonical(live) === target) return;
    if (Date.now() >= deadline) {
      const missing = live ? notYetThere(live, wanted) : [`the vhost ${vhost}`];
      const extra = live ? Object.values(extras(live, wanted)).flat().length : 0;
      throw new Error(
        `${describeStore(store)}: after ${formatDuration(store.import_timeout)} vhost "${vhost}" still lacks ` +
          `${missing.slice(0, 10).join(', ') || 'nothing'}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}` +
          `${extra ? ` and holds ${extra} object(s) the snapshot does not have` : ''}; ` +
          'the import is asynchronous: raise datastore.import_timeout, or look in the broker log for a refused definition',
      );
    }
    await sleep(pollMs, undefined, { signal });
  }
}

function mismatchError(store: RabbitmqStore, conflicts: Mismatch[]): UserError {
  const lines = conflicts.map((c) => `  - ${c.what} "${c.name}": ${c.differences.join('; ')}`);
  return new UserError(
    `${describeStore(store)}: ${conflicts.length} object(s) exist with other properties than the snapshot's, ` +
      'and an import would silently keep them as they are:\n' +
      `${lines.join('\n')}\n` +
      'Nothing was written. Set datastore.on_mismatch: recreate to delete and declare them again ' +
      '(their messages are lost), or change them on the broker yourself.',
  );
}

function redeclared(conflicts: Mismatch[]): Extras {
  return {
    ...noExtras(),
    queues: conflicts.filter((c) => c.what === 'queue').map((c) => c.name),
    exchanges: conflicts.filter((c) => c.what === 'exchange').map((c) => c.name),
  };
}

function noExtras(): Extras {
  return {
    queues: [],
    exchanges: [],
    bindings: [],
    policies: [],
    parameters: [],
    permissions: [],
    topicPermissions: [],
  };
}

/** Bindings first: deleting their queue or exchange first would leave an unbind nothing to find. */
async function deleteAll(store: RabbitmqStore, ctl: Rabbitmqctl, gone: Extras): Promise<void> {
  if (gone.bindings.length + gone.queues.length + gone.exchanges.length > 0)
    await withChannel(store, async (channel) => {
      for (const b of gone.bindings) {
        const [dest, source, key] = [String(b.destination), String(b.source), String(b.routing_key)];
        if (b.destination_type === 'queue') await channel.unbindQueue(dest, source, key, b.arguments);
        else await channel.unbindExchange(dest, source, key, b.arguments);
      }
      for (const queue of gone.queues) await channel.deleteQueue(queue);
      for (const exchange of gone.exchanges) await channel.deleteExchange(exchange);
    });
  const vhost = store.vhost;
  for (const name of gone.policies) await ctl.run(['clear_policy', '-p', vhost, name]);
  for (const { component, name } of gone.parameters)
    await ctl.run(
      component === 'vhost-limits'
        ? ['clear_vhost_limits', '-p', vhost]
        : ['clear_parameter', '-p', vhost, component, name],
    );
  for (const user of gone.permissions) await ctl.run(['clear_permissions', '-p', vhost, user]);
  for (const { user, exchange } of gone.topicPermissions)
    await ctl.run(['clear_topic_permissions', '-p', vhost, user, exchange]);
}

/**
 * Created before the import, which is asynchronous: what follows must find it. Without
 * users in the snapshot it would be closed to everyone, so the store's own user may open it.
 */
async function createVhost(ctl: Rabbitmqctl, store: RabbitmqStore, grant: boolean): Promise<void> {
  await ctl.run(['add_vhost', store.vhost]);
  if (grant) await ctl.run(['set_permissions', '-p', store.vhost, store.user, '.*', '.*', '.*']);
}

/**
 * A recreated queue or exchange lost its bindings with the delete; unbinding them again
 * could meet it not yet declared by the asynchronous import (404 NOT_FOUND).
 */
function withoutBindingsOf(gone: Extras, conflicts: Mismatch[]): Extras {
  const recreated = new Set(conflicts.map((c) => `${c.what}:${c.name}`));
  const touches = (b: Record<string, unknown>) =>
    recreated.has(`${String(b.destination_type)}:${String(b.destination)}`) ||
    recreated.has(`exchange:${String(b.source)}`);
  return { ...gone, bindings: gone.bindings.filter((b) => !touches(b)) };
}

export async function deleteVhost(ctl: Rabbitmqctl, vhost: string, signal?: AbortSignal): Promise<void> {
  await ctl.run(['delete_vhost', vhost], signal).catch((err: Error) => {
    if (!/does not exist|no_such_vhost/i.test(err.message)) throw err;
  });
}
