/**
 * Live discovery of a NATS server (`lazarus discover --nats nats://host:4222`): each
 * JetStream stream becomes a store of its own, KV buckets (`KV_<b>`) and object stores
 * (`OBJ_<b>`) named as such, reached as the URL did.
 */
import { natsDefaults } from './spec';
import { withServer } from './jetstream';

export async function listNatsStores(
  url: string,
): Promise<{ name: string; datastore: Record<string, unknown> }[]> {
  const { host, port, user, pass } = parseNatsUrl(url);
  // Credentials in the URL serve the listing only: a manifest names secrets by reference.
  const label = `nats://${host}:${port}`;
  return withServer(`${host}:${port}`, { user, pass }, label, async (server) => {
    const names: string[] = [];
    for await (const name of server.jsm.streams.names()) names.push(name);
    names.sort();
    return names.map((stream) => ({
      name: serviceName(stream),
      datastore: { kind: 'nats', host, port, ...held(stream) },
    }));
  });
}

function held(stream: string): Record<string, string[]> {
  if (stream.startsWith('KV_')) return { kv: [stream.slice(3)] };
  if (stream.startsWith('OBJ_')) return { object_stores: [stream.slice(4)] };
  return { streams: [stream] };
}

/** A service name from a stream's: lower case, `-` for what a name cannot hold. */
function serviceName(stream: string): string {
  return (
    stream
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'nats'
  );
}

function parseNatsUrl(url: string): { host: string; port: number; user?: string; pass?: string } {
  const parsed = new URL(url.includes('://') ? url : `nats://${url}`);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : natsDefaults.port,
    user: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    pass: parsed.password ? decodeURIComponent(parsed.password) : undefined,
  };
}
