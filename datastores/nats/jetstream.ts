/**
 * The JetStream calls the NATS adapter makes: a connection whose failures name the store
 * and the fix, and the server's raw snapshot and restore API ($JS.API.STREAM.SNAPSHOT and
 * .RESTORE), which the `nats` client library does not wrap. Both directions are
 * flow-controlled, so a stream of any size passes through in 64 KiB chunks.
 */
import {
  connect,
  createInbox,
  type JetStreamManager,
  type NatsConnection,
  type NatsError,
  type StreamConfig,
  type StreamInfo,
  type StreamState,
} from 'nats';
import { UserError } from '../../model/errors';

/** A connection, with what the messages that name the store need. */
export interface Server {
  nc: NatsConnection;
  jsm: JetStreamManager;
  /** The store as messages name it: `nats://host:port/STREAM,...`. */
  label: string;
}

/** Credentials as the client takes them: secrets already resolved, on the worker. */
export interface Credentials {
  user?: string;
  pass?: string;
  token?: string;
}

/** What a snapshot response says: the stream's configuration and its state at the snapshot. */
export interface StreamHeader {
  config: StreamConfig;
  state: StreamState;
}

const CHUNK_SIZE = 64 * 1024;
/** A stalled server fails the step rather than hanging it: no chunk for this long is an error. */
const IDLE_MS = 30_000;

/**
 * Connects and checks JetStream is on. Unreachable, refused credentials and a server
 * without JetStream are the user's to fix: a UserError naming the store and the fix.
 */
export async function openServer(servers: string, creds: Credentials, label: string): Promise<Server> {
  const nc = await connect({
    servers,
    ...creds,
    timeout: 5000,
    reconnect: false,
    name: 'lazarus',
  }).catch((err: NatsError) => {
    throw connectError(err, label);
  });
  try {
    return { nc, jsm: await nc.jetstreamManager(), label };
  } catch (err) {
    await nc.close();
    if ((err as NatsError).code === '503')
      throw new UserError(
        `nats: JetStream is not enabled on ${label}; start nats-server with -js (or a jetstream {} block in its configuration)`,
      );
    throw err;
  }
}

function connectError(err: NatsError, label: string): Error {
  if (err.code === 'AUTHORIZATION_VIOLATION' || err.code === 'AUTHENTICATION_EXPIRED')
    return new UserError(
      `nats: ${label} refused the credentials; check datastore.user and password, or token (secret references)`,
    );
  if (
    err.code === 'CONNECTION_REFUSED' ||
    err.code === 'TIMEOUT' ||
    /ECONN|ENOTFOUND|EAI_AGAIN/.test(err.message)
  )
    return new UserError(
      `nats: cannot reach ${label} (${err.message}); check datastore.host and port (or url), and that nats-server runs`,
    );
  return err;
}

export async function withServer<T>(
  servers: string,
  creds: Credentials,
  label: string,
  work: (server: Server) => Promise<T>,
): Promise<T> {
  const server = await openServer(servers, creds, label);
  try {
    return await work(server);
  } finally {
    await server.nc.close();
  }
}

/** The stream's info, or undefined when the server has no such stream. */
export async function streamInfo(server: Server, name: string): Promise<StreamInfo | undefined> {
  try {
    return await server.jsm.streams.info(name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** A stream the store names must exist to be backed up or counted: else the user's to fix. */
export async function existingStream(server: Server, name: string): Promise<StreamInfo> {
  const info = await streamInfo(server, name);
  if (info) return info;
  throw new UserError(
    `nats: ${describeStream(name)} does not exist on ${server.label}; create it, or remove it from the datastore's streams, kv or object_stores`,
  );
}

export async function deleteStream(server: Server, name: string): Promise<void> {
  await server.jsm.streams.delete(name).catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
}

function isNotFound(err: unknown): boolean {
  const api = (err as { api_error?: { err_code?: number } }).api_error;
  return api?.err_code === 10059 || (err as NatsError).code === '404';
}

export function describeStream(name: string): string {
  if (name.startsWith('KV_')) return `KV bucket ${name.slice(3)} (stream ${name})`;
  if (name.startsWith('OBJ_')) return `object store ${name.slice(4)} (stream ${name})`;
  return `stream ${name}`;
}

/** A stream's snapshot: the server's header, then its S2 tar in chunks, each acknowledged once taken. */
export interface StreamSnapshot {
  header: StreamHeader;
  chunks: AsyncGenerator<Buffer>;
}

/**
 * Starts the server's snapshot of one stream, consumers included. The server sends the
 * next chunks only as earlier ones are acknowledged, and a chunk is acknowledged only
 * when the consumer of `chunks` asks for the next: a slow reader holds the server back
 * instead of filling memory.
 */
export async function snapshotStream(server: Server, name: string): Promise<StreamSnapshot> {
  const inbox = createInbox();
  const sub = server.nc.subscribe(inbox);
  const request = { deliver_subject: inbox, chunk_size: CHUNK_SIZE, no_consumers: false, jsck: true };
  try {
    const reply = await server.nc.request(`$JS.API.STREAM.SNAPSHOT.${name}`, encode(request), {
      timeout: IDLE_MS,
    });
    const header = apiResult<StreamHeader>(reply.data, `snapshot of ${describeStream(name)}`);
    return { header: { config: header.config, state: header.state }, chunks: chunksOf(sub, name) };
  } catch (err) {
    sub.unsubscribe();
    throw err;
  }
}

async function* chunksOf(sub: ReturnType<NatsConnection['subscribe']>, name: string): AsyncGenerator<Buffer> {
  const idle = idleTimer(() => sub.unsubscribe());
  try {
    for await (const msg of sub) {
      idle.reset();
      // The end: an empty message; a status header on it is the server's error.
      if (msg.data.length === 0) {
        if (msg.headers && msg.headers.code >= 300)
          throw new Error(`nats: snapshot of ${describeStream(name)} failed: ${msg.headers.description}`);
        return;
      }
      yield Buffer.from(msg.data);
      if (msg.reply) msg.respond();
    }
    throw new Error(`nats: snapshot of ${describeStream(name)} stalled (no data for ${IDLE_MS / 1000} s)`);
  } finally {
    idle.stop();
    sub.unsubscribe();
  }
}

function idleTimer(onIdle: () => void): { reset(): void; stop(): void } {
  let timer = setTimeout(onIdle, IDLE_MS);
  return {
    reset() {
      clearTimeout(timer);
      timer = setTimeout(onIdle, IDLE_MS);
    },
    stop: () => clearTimeout(timer),
  };
}

/**
 * Restores one stream under the name in its configuration: the server refuses another
 * name (10062) and a name already in use (10130). Each chunk is a request the server
 * answers once it has written it, which paces the sender.
 */
export async function restoreStream(
  server: Server,
  header: StreamHeader,
  chunks: AsyncIterable<Buffer>,
  signal?: AbortSignal,
): Promise<StreamInfo> {
  const name = header.config.name;
  const what = `restore of ${describeStream(name)} on ${server.label}`;
  const start = await server.nc.request(`$JS.API.STREAM.RESTORE.${name}`, encode(header), {
    timeout: IDLE_MS,
  });
  const { deliver_subject: deliver } = apiResult<{ deliver_subject: string }>(start.data, what);
  for await (const chunk of chunks) {
    signal?.throwIfAborted();
    const ack = await server.nc.request(deliver, chunk, { timeout: IDLE_MS });
    if (ack.data.length > 0) apiResult(ack.data, what);
  }
  const done = await server.nc.request(deliver, new Uint8Array(0), { timeout: 5 * 60_000 });
  return apiResult<StreamInfo>(done.data, what);
}

function encode(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value));
}

/** A JetStream API reply's body, or its error as one that says what failed. */
function apiResult<T>(data: Uint8Array, what: string): T {
  const body = JSON.parse(Buffer.from(data).toString('utf8')) as T & {
    error?: { code: number; err_code?: number; description: string };
  };
  if (body.error)
    throw new Error(
      `nats: ${what} failed: ${body.error.description} (${body.error.err_code ?? body.error.code})`,
    );
  return body;
}
