import { z } from 'zod';
import { durationSchema } from '../../model/duration';
import { derivedName } from '../../model/names';
import { secretRefSchema } from '../../model/secret-ref';
import { storeIndependentValidators } from '../../model/validators';
import { defineKind, portSchema, sameServer, serverIdentity } from '../kind';

/** The ports a manifest gets when it names none; live discovery's too. */
export const rabbitmqDefaults = { port: 5672, user: 'guest', managementPort: 15672 };

/**
 * One virtual host of a RabbitMQ broker: its definitions (exchanges, queues with their
 * arguments, bindings, policies, limits), never its messages. A drill's copy is a vhost
 * of its own on the same broker.
 */
export const rabbitmq = defineKind({
  kind: 'rabbitmq',
  schema: z.strictObject({
    kind: z.literal('rabbitmq'),
    host: z.string().default('127.0.0.1'),
    port: portSchema.default(rabbitmqDefaults.port).describe('The AMQP port'),
    vhost: z.string().min(1).default('/'),
    user: z.string().default(rabbitmqDefaults.user),
    password: secretRefSchema.optional(),
    users: z
      .boolean()
      .default(false)
      .describe(
        'Also back up the users that have permissions on the vhost (with their password hashes) and those permissions; a restore overwrites them',
      ),
    node: z
      .string()
      .min(1)
      .optional()
      .describe(
        'The Erlang node name rabbitmqctl on the worker reads and writes the definitions through (rabbit@host); the local node when unset',
      ),
    on_mismatch: z
      .enum(['report', 'recreate'])
      .default('report')
      .describe(
        'A queue or exchange that exists with other arguments than the snapshot has: report fails the restore before anything is written; recreate deletes and declares it again (its messages are lost)',
      ),
    drain: z
      .strictObject({
        timeout: durationSchema({ ms: 86_400_000, text: '24h' }).default(60_000),
      })
      .optional()
      .describe(
        "Consistency groups: after the application's pause hook stopped the producers, wait until every queue of the vhost is empty (ready + unacknowledged = 0). Messages are never copied",
      ),
    import_timeout: durationSchema({ ms: 3_600_000, text: '1h' })
      .default(60_000)
      .describe('How long a restore waits for the asynchronous import to show every object'),
  }),
  validators: storeIndependentValidators,
  storedAt: 'server',
  sandboxTarget: (store, { drillKey }) => ({ target: derivedName(store.vhost, `lzd_${drillKey}`) }),
  targetFormProblem: (target) => (target.trim() === '' ? 'name a virtual host' : undefined),
  retarget: (store, target) => ({ ...store, vhost: target }),
  overlaps: (copy, production) => sameServer(copy, production) && copy.vhost === production.vhost,
  identity: (store) => `${serverIdentity(store)}/${store.vhost}`,
  discovery: {
    tier: 'standard',
    engines: [
      {
        engine: 'rabbitmq',
        images: /(^|\/)rabbitmq$/,
        ports: [rabbitmqDefaults.port, rabbitmqDefaults.managementPort],
        // The server image's own variables; clients name the broker with a URL instead.
        env: /^RABBITMQ_(DEFAULT_USER|DEFAULT_PASS|DEFAULT_VHOST|ERLANG_COOKIE|NODENAME|NODE_PORT)$/,
      },
    ],
    fromCompose: (host, env) => ({
      kind: 'rabbitmq',
      host,
      vhost: env.RABBITMQ_DEFAULT_VHOST || '/',
      user: env.RABBITMQ_DEFAULT_USER || rabbitmqDefaults.user,
      ...(env.RABBITMQ_DEFAULT_PASS ? { password: { env: 'RABBITMQ_DEFAULT_PASS' } } : {}),
    }),
  },
});
