/**
 * The checks before a snapshot or a restore reads or writes anything: the broker answers
 * on the store's host and port, takes its user's credentials, has the vhost, and is the
 * broker rabbitmqctl reaches (a local node is not necessarily the one at `host`).
 */
import { UserError } from '../../model/errors';
import { type RabbitmqStore, Rabbitmqctl, connectAmqp, describeStore } from './broker';
import type { BrokerDefinitions } from './definitions';

/** The broker's definitions, once every check passed. */
export async function preflight(
  store: RabbitmqStore,
  ctl: Rabbitmqctl,
  { vhostMayBeMissing }: { vhostMayBeMissing: boolean },
  signal?: AbortSignal,
): Promise<BrokerDefinitions> {
  const amqp = connectAmqp(store).then(
    async (connection) => {
      const name = connection.connection.serverProperties.cluster_name;
      await connection.close().catch(() => {});
      return { clusterName: typeof name === 'string' ? name : undefined };
    },
    (err: Error) => ({ error: err }),
  );
  const [reached, all, clusterName] = await Promise.all([amqp, ctl.exportAll(signal), ctl.clusterName()]);
  const exists = (all.vhosts ?? []).some((v) => v.name === store.vhost);
  if ('error' in reached) {
    // Opening a vhost that is not there fails after the login succeeded.
    const missingVhost = !exists && /may not open vhost/.test(reached.error.message);
    if (missingVhost && vhostMayBeMissing) return all;
    if (missingVhost) throw noSuchVhost(store, all);
    throw reached.error;
  }
  if (reached.clusterName !== undefined && reached.clusterName !== clusterName)
    throw new UserError(
      `${describeStore(store)}: the broker there is cluster "${reached.clusterName}", but rabbitmqctl on this worker reaches "${clusterName}"; ` +
        "set datastore.node to that broker's node name (rabbit@host) and give the worker its Erlang cookie",
    );
  return all;
}

function noSuchVhost(store: RabbitmqStore, all: BrokerDefinitions): UserError {
  const names = (all.vhosts ?? []).map((v) => JSON.stringify(v.name)).join(', ');
  return new UserError(
    `${describeStore(store)}: the broker has no vhost "${store.vhost}" (it has ${names}); fix datastore.vhost`,
  );
}
