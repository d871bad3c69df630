import { z } from 'zod';
import { secretRefSchema } from '../../model/secret-ref';
import { defineKind, portSchema, sameServer, serverIdentity } from '../kind';

/** The port a manifest gets when it names none; live discovery's too. */
export const natsDefaults = { port: 4222 };

/** A JetStream stream name: no whitespace, dots, `*`, `>` or path separators (the server's rule). */
const streamName = z
  .string()
  .regex(/^[^\s.*>/\\]+$/, 'a stream or bucket name has no spaces, ".", "*", ">", "/" or "\\"');

/** `nats://host:port` without credentials: those go in user/password or token, as secret references. */
const natsUrl = /^(?:nats|tls):\/\/([^:/@\s]+)(?::(\d+))?\/?$/;

const serverAddress = z.strictObject({
  host: z.string().min(1),
  port: portSchema.default(natsDefaults.port),
});

const natsSchema = z
  .strictObject({
    kind: z.literal('nats'),
    host: z.string().default('127.0.0.1'),
    port: portSchema.default(natsDefaults.port),
    url: z
      .string()
      .regex(natsUrl, 'write nats://host:port (credentials go in user/password or token)')
      .optional()
      .describe('nats://host:port, instead of host and port'),
    user: z.string().optional(),
    password: secretRefSchema.optional(),
    token: secretRefSchema.optional(),
    streams: z.array(streamName).default([]),
    kv: z.array(streamName).default([]).describe('KV buckets: the streams KV_<bucket>'),
    object_stores: z.array(streamName).default([]).describe('Object stores: the streams OBJ_<bucket>'),
    sandbox: serverAddress
      .optional()
      .describe('A NATS server with JetStream that DR drills restore into; drills refuse to run without it'),
  })
  .refine((s) => s.streams.length + s.kv.length + s.object_stores.length > 0, {
    message:
      'name the streams, kv buckets or object_stores to back up (lazarus discover --nats nats://HOST:4222 lists them)',
    path: ['streams'],
  })
  .refine((s) => !(s.password && s.token), {
    message: 'give user/password or token, not both',
    path: ['token'],
  });

export type NatsStore = z.output<typeof natsSchema>;

/**
 * JetStream streams on a NATS server: plain streams, KV buckets (stream `KV_<bucket>`) and
 * object stores (stream `OBJ_<bucket>`), backed up through the server's snapshot API. A
 * stream can only be restored under its own name, so a drill's copy lives on another
 * server, the `sandbox` the manifest sets aside.
 */
export const nats = defineKind({
  kind: 'nats',
  schema: natsSchema,
  validators: ['message_count', 'checksum', 'command', 'http'],
  storedAt: 'server',
  sandboxTarget: (store, { service }) => {
    if (!store.sandbox)
      return {
        problem:
          `services.${service}.datastore.sandbox is not set: name a NATS server with JetStream for drills ` +
          '({host, port}); a stream restores only under its own name, so its copy cannot sit beside production',
      };
    if (sameServer({ kind: 'nats', ...store.sandbox }, natsServer(store)))
      return { problem: `services.${service}.datastore.sandbox is the production server: name another one` };
    return { target: `${store.sandbox.host}:${store.sandbox.port}` };
  },
  targetFormProblem: (target) =>
    parseTarget(target)
      ? undefined
      : 'name a NATS server as host:port or nats://host:port, such as 127.0.0.1:4223',
  retarget: (store, target) => {
    // The url would win over the new host and port: the copy is addressed by host and port alone.
    const copy = { ...store, ...(parseTarget(target) ?? { host: target, port: natsDefaults.port }) };
    delete copy.url;
    return copy;
  },
  overlaps: (copy, production) => {
    if (!sameServer(natsServer(copy), natsServer(production))) return false;
    const names = new Set(natsStreams(production));
    return natsStreams(copy).some((name) => names.has(name));
  },
  identity: (store) => `${serverIdentity(natsServer(store))}/${natsStreams(store).join(',')}`,
  discovery: {
    tier: 'standard',
    // nats-streaming (STAN) is another, deprecated store: not recognised as this kind.
    engines: [{ engine: 'nats', images: /(^|\/)nats$/, ports: [natsDefaults.port] }],
    // A Compose service's command (-js) is not visible here: the entry is proposed for every
    // nats image, with no streams named; the manifest check asks for them, and a server
    // started without JetStream is refused with a clear error at the first backup.
    fromCompose: (host) => ({ kind: 'nats', host, streams: [] }),
  },
});

/** The server a store is on, from its url or its host and port. */
export function natsServer(store: Pick<NatsStore, 'host' | 'port' | 'url'>): {
  kind: 'nats';
  host: string;
  port: number;
} {
  const parsed = store.url ? parseTarget(store.url) : undefined;
  return { kind: 'nats', ...(parsed ?? { host: store.host, port: store.port }) };
}

/** The JetStream streams a store names, KV buckets and object stores included: sorted, each once. */
export function natsStreams(store: Pick<NatsStore, 'streams' | 'kv' | 'object_stores'>): string[] {
  const names = [
    ...store.streams,
    ...store.kv.map((bucket) => `KV_${bucket}`),
    ...store.object_stores.map((bucket) => `OBJ_${bucket}`),
  ];
  return [...new Set(names)].sort();
}

function parseTarget(target: string): { host: string; port: number } | undefined {
  const match = natsUrl.exec(target) ?? /^([^:/@\s]+)(?::(\d+))?$/.exec(target);
  if (!match) return undefined;
  const port = match[2] === undefined ? natsDefaults.port : Number(match[2]);
  return port >= 1 && port <= 65535 ? { host: match[1], port } : undefined;
}
