/**
 * A raw replication connection to a Redis master, as a replica makes it: REPLCONF, then
 * PSYNC; then the RDB of a full resync (both the `$<len>` and the diskless `$EOF:<mark>`
 * forms) and the command stream. ioredis cannot speak this part of the protocol.
 */
import net from 'node:net';
import type { Datastore } from '../../../model/manifest';
import { resolveSecret } from '../../shared/secrets';
import { encodeCommand } from './resp';

type RedisStore = Extract<Datastore, { kind: 'redis' }>;

export type PsyncReply =
  { kind: 'full'; replid: string; offset: number } | { kind: 'continue'; replid?: string };

const EOF_MARK = 40;

/** Reads a socket as lines and byte runs, pulling only when asked (the socket's backpressure holds). */
export class SocketReader {
  private pending: Buffer = Buffer.alloc(0);
  private readonly chunks: AsyncIterator<Buffer>;

  constructor(socket: net.Socket) {
    this.chunks = socket[Symbol.asyncIterator]();
  }

  /** The next bytes from the socket; undefined when it ended. */
  async chunk(): Promise<Buffer | undefined> {
    if (this.pending.length > 0) {
      const taken = this.pending;
      this.pending = Buffer.alloc(0);
      return taken;
    }
    const next = await this.chunks.next();
    return next.done ? undefined : (next.value as Buffer);
  }

  unread(bytes: Buffer): void {
    if (bytes.length > 0) this.pending = Buffer.concat([bytes, this.pending]);
  }

  /** The next non-empty CRLF line (a master sends bare newlines as keepalives). */
  async line(what: string): Promise<string> {
    let text = '';
    for (;;) {
      const chunk = await this.chunk();
      if (!chunk) throw new Error(`redis: the connection closed while waiting for ${what}`);
      const newline = chunk.indexOf(10);
      if (newline < 0) {
        text += chunk.toString('latin1');
        continue;
      }
      text += chunk.subarray(0, newline).toString('latin1');
      this.unread(chunk.subarray(newline + 1));
      const line = text.replace(/\r$/, '');
      if (line !== '') return line;
      text = '';
    }
  }
}

/** A connected replication link; `close` ends it. */
export class ReplicationLink {
  private constructor(
    readonly socket: net.Socket,
    readonly reader: SocketReader,
    readonly describe: string,
  ) {}

  static async open(store: RedisStore, signal?: AbortSignal): Promise<ReplicationLink> {
    const describe = `${store.host}:${store.port}`;
    const socket = await connect(store.host, store.port, describe);
    const link = new ReplicationLink(socket, new SocketReader(socket), describe);
    const onAbort = () => link.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('close', () => signal?.removeEventListener('abort', onAbort));
    try {
      const password = resolveSecret(store.password);
      if (password) await link.call('AUTH', ['AUTH', password], 'datastore.password');
      await link.call('REPLCONF listening-port', ['REPLCONF', 'listening-port', '0']);
      await link.call('REPLCONF capa', ['REPLCONF', 'capa', 'eof', 'capa', 'psync2']);
    } catch (err) {
      link.close();
      throw err;
    }
    return link;
  }

  /** `PSYNC ? -1` for a full copy, or `PSYNC <replid> <offset+1>` to continue after `offset`. */
  async psync(replid: string, after: number): Promise<PsyncReply> {
    const args = replid === '?' ? ['PSYNC', '?', '-1'] : ['PSYNC', replid, String(after + 1)];
    this.socket.write(encodeCommand(...args));
    const reply = await this.reader.line('the PSYNC reply');
    const [word, id, offset] = reply.split(' ');
    if (word === '+FULLRESYNC') return { kind: 'full', replid: id, offset: Number(offset) };
    if (word === '+CONTINUE') return { kind: 'continue', replid: id };
    throw new Error(
      `redis: ${this.describe} refused PSYNC: ${reply} (the user needs the psync, replconf and sync commands: ACL SETUSER <user> +psync +replconf +sync)`,
    );
  }

  /** The RDB of a full resync, chunk by chunk; what follows it stays in the reader. */
  async *rdb(): AsyncGenerator<Buffer> {
    const header = await this.reader.line('the RDB header');
    if (header.startsWith('$EOF:')) yield* this.untilMark(Buffer.from(header.slice(5), 'latin1'));
    else if (/^\$\d+$/.test(header)) yield* this.exactly(Number(header.slice(1)));
    else throw new Error(`redis: unexpected RDB header from ${this.describe}: ${header.slice(0, 60)}`);
  }

  ack(offset: number): void {
    if (!this.socket.destroyed) this.socket.write(encodeCommand('REPLCONF', 'ACK', String(offset)));
  }

  close(): void {
    this.socket.destroy();
  }

  private async call(what: string, args: string[], setting?: string): Promise<void> {
    this.socket.write(encodeCommand(...args));
    const reply = await this.reader.line(`the reply to ${what}`);
    if (!reply.startsWith('+')) {
      const fix = setting ? ` (check ${setting})` : '';
      throw new Error(`redis: ${this.describe} answered ${what} with ${reply}${fix}`);
    }
  }

  private async *exactly(length: number): AsyncGenerator<Buffer> {
    let left = length;
    while (left > 0) {
      const chunk = await this.nextChunk();
      const take = Math.min(left, chunk.length);
      yield chunk.subarray(0, take);
      this.reader.unread(chunk.subarray(take));
      left -= take;
    }
  }

  /** Diskless: the RDB ends with the 40 random bytes announced in its header; hold back that many. */
  private async *untilMark(mark: Buffer): AsyncGenerator<Buffer> {
    if (mark.length !== EOF_MARK) throw new Error(`redis: bad EOF mark from ${this.describe}`);
    let held = Buffer.alloc(0);
    for (;;) {
      const bytes = Buffer.concat([held, await this.nextChunk()]);
      const at = bytes.indexOf(mark);
      if (at >= 0) {
        if (at > 0) yield bytes.subarray(0, at);
        this.reader.unread(bytes.subarray(at + EOF_MARK));
        return;
      }
      const keep = Math.min(EOF_MARK, bytes.length);
      if (bytes.length > keep) yield bytes.subarray(0, bytes.length - keep);
      held = Buffer.from(bytes.subarray(bytes.length - keep));
    }
  }

  private async nextChunk(): Promise<Buffer> {
    const chunk = await this.reader.chunk();
    if (!chunk) throw new Error(`redis: ${this.describe} closed the link in the middle of the RDB`);
    return chunk;
  }
}

function connect(host: string, port: number, describe: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    socket.setTimeout(10_000, () =>
      socket.destroy(new Error(`redis: ${describe} did not answer within 10 s`)),
    );
    socket.once('connect', () => {
      socket.setTimeout(0);
      socket.setKeepAlive(true, 10_000);
      resolve(socket);
    });
    socket.once('error', (err) => reject(new Error(`redis: cannot reach ${describe}: ${err.message}`)));
  });
}
