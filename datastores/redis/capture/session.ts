/**
 * A capture session: a PSYNC that continues after the durable point, the command stream
 * written to the spool as it arrives, a REPLCONF ACK every second (a master drops a
 * replica that does not ACK: redis/redis#11246), and marks of receipt time against the
 * newest point outside a transaction. The stream carries no timestamps of its own (not
 * even with aof-timestamp-enabled, whose #TS annotations go to the AOF only).
 */
import { CaptureGapError } from '../../capture';
import type { CaptureOptions, CaptureSession, LogPoint } from '../../capture';
import type { Datastore } from '../../../model/manifest';
import { ReplicationLink } from './link';
import { offsetPoint, replidOf } from './points';
import { RespReader, commandWords } from './resp';
import { Spool } from './spool';
import type { Arrival } from './spool';

type RedisStore = Extract<Datastore, { kind: 'redis' }>;

/** The master could not continue the stream: its backlog no longer holds the point. */
export { CaptureGapError };

export interface RedisCaptureSession extends CaptureSession {
  /** Seals the current file at the next command boundary. */
  rotate(): Promise<void>;
}

const ACK_EVERY_MS = 1000;

export async function startCapture(
  store: RedisStore,
  options: CaptureOptions,
  segmentBytes: number,
): Promise<RedisCaptureSession> {
  const link = await ReplicationLink.open(store, options.signal);
  const { from, replid } = await (
    options.resumeFrom
      ? continueAfter(link, options.resumeFrom).then((id) => ({ from: options.resumeFrom!, replid: id }))
      : startAtHead(link)
  ).catch((err: unknown) => {
    link.close();
    throw err;
  });
  const spool = new Spool(options.spool, from.lineage, from.offset, segmentBytes, replid);
  const stream = new CommandStream(from.offset);
  let stopping = false;
  const ticker = setInterval(() => {
    link.ack(spool.durable);
    spool.idleMark(Date.now());
  }, ACK_EVERY_MS);
  link.ack(from.offset);
  const ended = (async () => {
    try {
      for (;;) {
        const bytes = await link.reader.chunk();
        if (!bytes) throw new Error('the server closed it');
        // Date.now() is the time truncated to the ms: one more is at or after the true receipt, so a
        // mark never claims a command arrived earlier than it did (which would restore one written after T).
        const arrival = stream.read(bytes, Date.now() + 1);
        await spool.append(arrival);
        if (stream.takeAckRequest()) link.ack(spool.durable);
      }
    } catch (err) {
      if (options.signal.aborted) throw options.signal.reason;
      if (!stopping) {
        throw new Error(
          `redis: the replication link to ${link.describe} ended: ${(err as Error).message} (the source stopped, restarted or dropped the capture)`,
          { cause: err },
        );
      }
    } finally {
      clearInterval(ticker);
      link.close();
      await spool.close();
    }
  })();
  ended.catch(() => {});
  return {
    files: async () => spool.files(),
    ended,
    rotate: () => spool.rotate(),
    async stop() {
      stopping = true;
      link.close();
      await ended.catch(() => {});
    },
  };
}

/** PSYNC after `from`; the replication id the master continues under (psync2 may name a new one). */
async function continueAfter(link: ReplicationLink, from: LogPoint & { lineage: string }): Promise<string> {
  const reply = await link.psync(replidOf(from), from.offset);
  if (reply.kind === 'full') {
    link.close();
    throw new CaptureGapError(
      `gap: ${link.describe} cannot continue lineage ${from.lineage} after offset ${from.offset} ` +
        `(it offered a full resync as ${reply.replid} at ${reply.offset}: its backlog no longer holds that point, ` +
        'or it restarted without its RDB); take a new base; raise repl-backlog-size to outlast capture outages',
    );
  }
  return reply.replid ?? replidOf(from);
}

/**
 * With nothing to resume, a full resync: a master that never had a replica has no backlog
 * (and takes a new replication id when it makes one), so continuing after its head would
 * look like a gap. The RDB is read past, not kept: the base is taken on its own.
 */
async function startAtHead(
  link: ReplicationLink,
): Promise<{ from: LogPoint & { lineage: string }; replid: string }> {
  const reply = await link.psync('?', -1);
  if (reply.kind !== 'full')
    throw new Error(`redis: ${link.describe} answered PSYNC ? -1 without a full resync`);
  let skipped = 0;
  for await (const chunk of link.rdb()) skipped += chunk.length;
  void skipped;
  return {
    from: { ...offsetPoint(reply.replid, reply.offset), lineage: reply.replid },
    replid: reply.replid,
  };
}

/** Finds where commands end in the stream outside MULTI/EXEC. */
class CommandStream {
  private readonly reader = new RespReader();
  private inTransaction = false;
  private ackRequested = false;

  constructor(private readonly start: number) {}

  read(bytes: Buffer, receivedAt: number): Arrival {
    const ends: number[] = [];
    this.reader.feed(bytes, (value, end) => {
      const [name, sub] = commandWords(value);
      if (name === 'MULTI') this.inTransaction = true;
      if (name === 'EXEC' || name === 'DISCARD') this.inTransaction = false;
      if (name === 'REPLCONF' && sub?.toUpperCase() === 'GETACK') this.ackRequested = true;
      if (!this.inTransaction) ends.push(this.start + end);
    });
    return { bytes, ends, receivedAt };
  }

  takeAckRequest(): boolean {
    const asked = this.ackRequested;
    this.ackRequested = false;
    return asked;
  }
}
