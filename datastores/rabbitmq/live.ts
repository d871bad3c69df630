/**
 * Live discovery of a broker (`--rabbitmq amqp://user:password@host:5672`): one store per
 * vhost. The URL's login is checked over AMQP; the vhosts are listed through rabbitmqctl
 * on this host (there is no AMQP call for it), which must reach the same broker.
 */
import { UserError } from '../../model/errors';
import { Rabbitmqctl, connectAmqp } from './broker';
import { rabbitmq, rabbitmqDefaults } from './spec';

export async function listRabbitmqStores(
  url: string,
): Promise<{ name: string; datastore: Record<string, unknown> }[]> {
  const masked = url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  const target = parseAmqpUrl(url, masked);
  try {
    const store = rabbitmq.schema.parse({ kind: 'rabbitmq', ...target.fields, vhost: '/' });
    const ctl = new Rabbitmqctl(store);
    // The login over AMQP ("/" need not be open to the user: a closed vhost still proves it).
    await connectAmqp({ ...store, password: undefined }, target.password)
      .then((c) => c.close())
      .catch((err: Error) => {
        if (!/may not open vhost/.test(err.message)) throw err;
      });
    const all = await ctl.exportAll();
    return (all.vhosts ?? []).map((v) => {
      const vhost = String(v.name);
      return { name: serviceName(vhost), datastore: { kind: 'rabbitmq', ...target.fields, vhost } };
    });
  } catch (err) {
    throw new UserError(`cannot list the vhosts at ${masked}: ${(err as Error).message}`);
  }
}

function parseAmqpUrl(url: string, masked: string) {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined as never;
  }
  if (!parsed || !/^amqps?:$/.test(parsed.protocol))
    throw new UserError(`--rabbitmq ${masked}: write a URL such as amqp://guest:guest@127.0.0.1:5672`);
  return {
    fields: {
      host: parsed.hostname,
      port: parsed.port ? Number(parsed.port) : rabbitmqDefaults.port,
      user: parsed.username ? decodeURIComponent(parsed.username) : rabbitmqDefaults.user,
    },
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
  };
}

/** "/" is the broker's default vhost: `rabbitmq`; others `rabbitmq-<vhost>` in a service name's characters. */
function serviceName(vhost: string): string {
  if (vhost === '/') return 'rabbitmq';
  const slug = vhost
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return `rabbitmq-${slug}`.slice(0, 63);
}
