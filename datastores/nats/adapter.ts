import { Readable } from 'node:stream';
import type { AdapterFor } from '../adapter';
import { spoolFile, spooledPoint } from '../shared/spooled-point';
import { ArchiveWriter, FORMAT } from './archive';
import { natsFingerprint } from './fingerprint';
import { resolveSecret } from '../shared/secrets';
import {
  type Credentials,
  type Server,
  deleteStream,
  existingStream,
  snapshotStream,
  streamInfo,
  withServer,
  openServer,
} from './jetstream';
import { restoreArchive } from './restore';
import { removeScratch } from './scratch';
import { type NatsStore, nats as natsSpec, natsServer, natsStreams } from './spec';

/**
 * NATS JetStream through the server's own snapshot and restore API, per stream (KV
 * buckets and object stores are streams too), consumers and their ack floors included.
 *
 * A restore stages in a scratch nats-server and checks the staged streams there; only
 * then is each live stream deleted and restored under its name. That swap is not atomic:
 * between the delete and the end of the restore, JetStream publishes to the stream's
 * subjects get no responders (503) and core NATS publishes to them are lost. Writes are
 * not frozen by the server: a freeze is the application's (its pause hook).
 */
export const natsAdapter: AdapterFor<'nats'> = {
  kind: 'nats',

  /** Every named stream is checked to exist before the stream starts: a missing one is the user's to fix. */
  async snapshot(store) {
    const server = await open(store);
    try {
      for (const name of natsStreams(store)) await existingStream(server, name);
    } catch (err) {
      await server.nc.close();
      throw err;
    }
    return Readable.from(archiveOf(server, natsStreams(store)), { objectMode: false });
  },

  /**
   * The snapshot is taken while the group is frozen and spooled to a file; the point is
   * where each stream stood (its last sequence, from the snapshot response).
   */
  async snapshotPoint(store, ctx) {
    const positions: string[] = [];
    const server = await open(store);
    for (const name of natsStreams(store)) await existingStream(server, name).catch(closing(server));
    const source = Readable.from(archiveOf(server, natsStreams(store), positions), { objectMode: false });
    const point = await spooledPoint(source, spoolFile(ctx, 'nats'), ctx);
    return { ...point, position: positions.join(' ') };
  },

  async logPosition(store) {
    return withStore(store, async (server) => {
      const positions: string[] = [];
      for (const name of natsStreams(store)) {
        const info = await streamInfo(server, name);
        if (info) positions.push(`${name}@${info.state.last_seq}`);
      }
      return positions.join(' ') || undefined;
    });
  },

  restore: (store, data, ctx) => withStore(store, (live) => restoreArchive(live, data, ctx)),

  fingerprint: (store) => withStore(store, (server) => natsFingerprint(server, natsStreams(store))),

  async holdsData(store) {
    return withStore(store, async (server) => {
      for (const name of natsStreams(store))
        if (((await streamInfo(server, name))?.state.messages ?? 0) > 0) return true;
      return false;
    });
  },

  drop: (store) =>
    withStore(store, async (server) => {
      for (const name of natsStreams(store)) await deleteStream(server, name);
    }),

  /** A stream's message count, for the message_count validator. */
  count: (store, stream) =>
    withStore(store, async (server) => (await existingStream(server, stream)).state.messages),

  /** Staging is only ever the scratch server: the live server holds none. */
  discard: (_store, ctx) => removeScratch(ctx.stagingId),

  retarget: natsSpec.retarget,
  describe,
};

function describe(store: NatsStore): string {
  const { host, port } = natsServer(store);
  return `nats://${host}:${port}/${natsStreams(store).join(',')}`;
}

function open(store: NatsStore): Promise<Server> {
  const { host, port } = natsServer(store);
  return openServer(`${host}:${port}`, credentials(store), describe(store));
}

function withStore<T>(store: NatsStore, work: (server: Server) => Promise<T>): Promise<T> {
  const { host, port } = natsServer(store);
  return withServer(`${host}:${port}`, credentials(store), describe(store), work);
}

/** Secrets are read here, on the worker, so their values never enter a workflow's history. */
function credentials(store: NatsStore): Credentials {
  return { user: store.user, pass: resolveSecret(store.password), token: resolveSecret(store.token) };
}

function closing(server: Server): (err: unknown) => Promise<never> {
  return async (err) => {
    await server.nc.close();
    throw err;
  };
}

/**
 * The archive of `names`, one stream after the other, each consistent in itself (the
 * server's snapshot). `positions` is told where each stream stood. Closes the connection.
 */
export async function* archiveOf(
  server: Server,
  names: string[],
  positions: string[] = [],
): AsyncGenerator<Buffer> {
  const writer = new ArchiveWriter();
  try {
    yield writer.frame({ type: 'header', format: FORMAT, streams: names });
    for (const name of names) {
      const { header, chunks } = await snapshotStream(server, name);
      positions.push(`${name}@${header.state.last_seq}`);
      yield writer.frame({ type: 'stream', name, header });
      let count = 0;
      let bytes = 0;
      for await (const data of chunks) {
        count += 1;
        bytes += data.length;
        yield writer.frame({ type: 'chunk', data });
      }
      yield writer.frame({ type: 'end', name, chunks: count, bytes });
    }
    yield writer.trailer();
  } finally {
    await server.nc.close();
  }
}
