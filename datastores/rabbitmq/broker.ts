/**
 * The two ways the adapter reaches a broker: `rabbitmqctl` on the worker's host for the
 * definitions (the broker here has no management plugin), and AMQP with the store's own
 * user, which proves the host, port and credentials are the ones meant and deletes the
 * exchanges and bindings rabbitmqctl has no command for. Every failure a user can fix
 * becomes a UserError that names the store and the fix.
 */
import { Readable } from 'node:stream';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { UserError } from '../../model/errors';
import type { Datastore } from '../../model/manifest';
import { commandInput, commandOutput } from '../shared/process';
import { resolveSecret } from '../shared/secrets';
import type { BrokerDefinitions } from './definitions';

export type RabbitmqStore = Extract<Datastore, { kind: 'rabbitmq' }>;

export function describeStore(store: RabbitmqStore): string {
  return `rabbitmq://${store.host}:${store.port}/${encodeURIComponent(store.vhost)}`;
}

/** rabbitmqctl against the store's node: every call starts an Erlang VM (about 2 s). */
export class Rabbitmqctl {
  constructor(private readonly store: RabbitmqStore) {}

  async run(args: string[], signal?: AbortSignal): Promise<string> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of commandOutput({ cmd: 'rabbitmqctl', args: this.args(args), signal }))
        chunks.push(chunk as Buffer);
    } catch (err) {
      throw this.failure(err as Error);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async exportAll(signal?: AbortSignal): Promise<BrokerDefinitions> {
    return JSON.parse(await this.run(['export_definitions', '-'], signal)) as BrokerDefinitions;
  }

  /** Imports from standard input: 3.10's `-` argument is refused ("File - does not exist"). */
  async importFile(file: BrokerDefinitions, signal?: AbortSignal): Promise<void> {
    const input = Readable.from([Buffer.from(JSON.stringify(file))]);
    await commandInput({ cmd: 'rabbitmqctl', args: this.args(['import_definitions']), signal }, input).catch(
      (err: Error) => {
        throw this.failure(err);
      },
    );
  }

  /** The broker's cluster name: the same one an AMQP connection reports when both reach one broker. */
  async clusterName(): Promise<string> {
    return (JSON.parse(await this.run(['cluster_status', '--formatter', 'json'])) as { cluster_name: string })
      .cluster_name;
  }

  async queueDepths(vhost: string, signal?: AbortSignal): Promise<QueueDepth[]> {
    const text = await this.run(
      [
        'list_queues',
        '-p',
        vhost,
        'name',
        'messages_ready',
        'messages_unacknowledged',
        '--formatter',
        'json',
      ],
      signal,
    );
    return (JSON.parse(text) as Record<string, unknown>[]).map((q) => ({
      name: String(q.name),
      ready: Number(q.messages_ready) || 0,
      unacked: Number(q.messages_unacknowledged) || 0,
    }));
  }

  private args(args: string[]): string[] {
    return ['-q', ...(this.store.node ? ['-n', this.store.node] : []), ...args];
  }

  private failure(err: Error): Error {
    if (/is not installed/.test(err.message))
      return new UserError(
        `${describeStore(this.store)}: rabbitmqctl is not installed on this worker; it reads and writes the broker's definitions (install the RabbitMQ server package's CLI tools)`,
      );
    if (/unable to perform an operation on node|unable to connect to node/i.test(err.message))
      return new UserError(
        `${describeStore(this.store)}: rabbitmqctl cannot reach the node ${this.store.node ?? '(the local one)'}; ` +
          "set datastore.node to the broker's node name (rabbit@host) and give the worker its Erlang cookie, or check that RabbitMQ runs",
      );
    return err;
  }
}

export interface QueueDepth {
  name: string;
  ready: number;
  unacked: number;
}

/**
 * An AMQP connection to the store's vhost as its user; user mistakes become UserErrors.
 * `password` is live discovery's, from its URL; a store's is its secret (guest's is guest).
 */
export async function connectAmqp(store: RabbitmqStore, password?: string): Promise<ChannelModel> {
  const where = describeStore(store);
  try {
    const connection = await connect(
      {
        protocol: 'amqp',
        hostname: store.host,
        port: store.port,
        username: store.user,
        password: password ?? resolveSecret(store.password) ?? (store.user === 'guest' ? 'guest' : ''),
        vhost: store.vhost,
        heartbeat: 30,
      },
      { timeout: 10_000 },
    );
    connection.on('error', () => {}); // reported through the calls that fail
    return connection;
  } catch (err) {
    if (err instanceof UserError) throw err;
    const message = (err as Error).message;
    const code = (err as NodeJS.ErrnoException).code;
    if (/ACCESS.REFUSED/.test(message))
      throw new UserError(
        `${where}: the broker refused the login of user "${store.user}"; check datastore.user and datastore.password`,
      );
    if (/ConnectionClose/.test(message))
      throw new UserError(
        `${where}: user "${store.user}" may not open vhost "${store.vhost}" (it does not exist, or the user has no permissions there); ` +
          `check datastore.vhost, or grant them: rabbitmqctl set_permissions -p '${store.vhost}' ${store.user} '.*' '.*' '.*'`,
      );
    throw new UserError(
      `${where}: cannot reach the broker (${code ?? message}); check datastore.host and datastore.port (the AMQP port, 5672 by default) and that RabbitMQ runs`,
    );
  }
}

/** Runs `work` on a channel of a fresh connection, closed afterwards. */
export async function withChannel<T>(
  store: RabbitmqStore,
  work: (channel: Channel) => Promise<T>,
): Promise<T> {
  const connection = await connectAmqp(store);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => {}); // a failed operation rejects its own promise
    return await work(channel);
  } finally {
    await connection.close().catch(() => {});
  }
}
