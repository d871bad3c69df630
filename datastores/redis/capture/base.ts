/**
 * A base copy through a full resync: `PSYNC ? -1` makes the master fork and stream an RDB
 * of that instant; the FULLRESYNC reply names the replication id and offset it is
 * consistent at. The RDB is passed on as it arrives (never held whole); the link is
 * closed once it has been read, before the master starts streaming commands.
 */
import { Readable } from 'node:stream';
import type { BaseCopy, LogPoint } from '../../capture';
import type { Datastore } from '../../../model/manifest';
import { ReplicationLink } from './link';
import { offsetPoint } from './points';

type RedisStore = Extract<Datastore, { kind: 'redis' }>;

export async function takeBase(store: RedisStore, signal: AbortSignal): Promise<BaseCopy> {
  const link = await ReplicationLink.open(store, signal);
  let point: { replid: string; at: LogPoint };
  try {
    const reply = await link.psync('?', -1);
    if (reply.kind !== 'full')
      throw new Error(`redis: ${link.describe} answered PSYNC ? -1 without a full resync`);
    // The fork happened just before the reply was sent: the copy holds every write before it.
    point = { replid: reply.replid, at: offsetPoint(reply.replid, reply.offset, Date.now()) };
  } catch (err) {
    link.close();
    throw err;
  }
  let settle!: { resolve: () => void; reject: (err: unknown) => void };
  const finished = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  async function* copy(): AsyncGenerator<Buffer> {
    try {
      yield* link.rdb();
      settle.resolve();
    } catch (err) {
      settle.reject(err);
      throw err;
    } finally {
      link.close();
    }
  }
  const data = Readable.from(copy(), { objectMode: false });
  // A consumer that gives up leaves the generator unfinished: say so rather than hang.
  data.once('close', () =>
    settle.reject(new Error('redis: the base stream was closed before the RDB ended')),
  );
  const done = finished.then(() => ({ start: point.at, end: point.at, lineage: point.replid }));
  done.catch(() => {});
  return { data, done };
}
