import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatDuration } from '../../model/duration';
import { UserError } from '../../model/errors';
import type { AdapterFor, FreezeContext } from '../adapter';
import { type RabbitmqStore, Rabbitmqctl, describeStore } from './broker';
import { type DefinitionsSnapshot, definitionsHash, snapshotFormat, vhostDefinitions } from './definitions';
import { preflight } from './preflight';
import { deleteVhost, discardStaging, restoreVhost } from './restore';
import { rabbitmq as rabbitmqSpec } from './spec';

/**
 * One vhost of a RabbitMQ broker, through rabbitmqctl's definitions export and import.
 * Messages are never copied: a running broker's message store cannot be copied
 * consistently, and reading messages out changes them (redelivered, reordered, counted).
 * The drain mode instead waits, in a consistency group, until the queues are empty.
 */
export const rabbitmqAdapter: AdapterFor<'rabbitmq'> = {
  kind: 'rabbitmq',

  async snapshot(store, ctx) {
    return Readable.from([await snapshotBytes(store, ctx.signal)]);
  },

  /** The drain: producers were stopped by the group's pause hook; the consumers empty the queues. */
  async freezeWrites(store, ctx) {
    if (store.drain) await drain(store, ctx);
    return { release: async () => {} };
  },

  async snapshotPoint(store, ctx) {
    const bytes = await snapshotBytes(store, ctx.signal);
    return {
      position: store.drain ? `queues empty at ${new Date().toISOString()}` : undefined,
      open: async () => Readable.from([bytes]),
      close: async () => {},
    };
  },

  restore: restoreVhost,

  async fingerprint(store) {
    return definitionsHash(await liveDefinitions(store));
  },

  async holdsData(store) {
    const all = await new Rabbitmqctl(store).exportAll();
    const defs = vhostDefinitions(all, store.vhost, false);
    return (
      defs !== undefined &&
      [defs.exchanges, defs.queues, defs.bindings, defs.policies].some((p) => p.length > 0)
    );
  },

  drop: (store) => deleteVhost(new Rabbitmqctl(store), store.vhost),
  discard: discardStaging,
  retarget: rabbitmqSpec.retarget,
  describe: describeStore,
};

async function snapshotBytes(store: RabbitmqStore, signal: AbortSignal): Promise<Buffer> {
  const all = await preflight(store, new Rabbitmqctl(store), { vhostMayBeMissing: false }, signal);
  const snapshot: DefinitionsSnapshot = {
    format: snapshotFormat,
    source: { vhost: store.vhost, rabbitmq_version: all.rabbit_version },
    definitions: vhostDefinitions(all, store.vhost, store.users)!,
  };
  return Buffer.from(JSON.stringify(snapshot));
}

async function liveDefinitions(store: RabbitmqStore) {
  const defs = vhostDefinitions(await new Rabbitmqctl(store).exportAll(), store.vhost, store.users);
  if (!defs) throw new UserError(`${describeStore(store)}: the broker has no vhost "${store.vhost}"`);
  return defs;
}

/** Waits until every queue of the vhost is empty (ready + unacknowledged = 0), within the drain's bound. */
async function drain(store: RabbitmqStore, ctx: FreezeContext): Promise<void> {
  const timeout = store.drain!.timeout;
  const started = Date.now();
  const until = Math.min(ctx.deadline, started + timeout);
  const ctl = new Rabbitmqctl(store);
  for (;;) {
    const busy = (await ctl.queueDepths(store.vhost, ctx.signal)).filter((q) => q.ready + q.unacked > 0);
    if (busy.length === 0) return;
    if (Date.now() >= until) {
      const listed = busy.map((q) => `"${q.name}" (${q.ready} ready, ${q.unacked} unacknowledged)`);
      throw new UserError(
        `${describeStore(store)}: ${busy.length} queue(s) did not drain within ${formatDuration(until - started)}: ` +
          `${listed.slice(0, 10).join(', ')}${listed.length > 10 ? ` and ${listed.length - 10} more` : ''}; ` +
          "check that their consumers run and that the group's pause hook stops every producer, or raise datastore.drain.timeout",
      );
    }
    await sleep(500, undefined, { signal: ctx.signal });
  }
}
