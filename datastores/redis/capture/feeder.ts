/**
 * A stand-in master for a replay: the scratch redis-server is made its replica, and it
 * answers that replica's PSYNC with a full resync of the base RDB at the base's own
 * replication id and offset, then the captured stream cut at the target. The replica
 * applies it as it would a real master's (SELECT, MULTI/EXEC, PING all as Redis does them)
 * and counts the offset it reached, which the replay then reads back from it.
 */
import { createReadStream, promises as fs } from 'node:fs';
import net from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RespReader, commandWords } from './resp';

/** Bytes `[from, to)` of a spool file (offsets within the file). */
export interface Piece {
  file: string;
  from: number;
  to: number;
}

export interface FeedPlan {
  rdbFile: string;
  replid: string;
  baseOffset: number;
  pieces: Piece[];
}

export interface Feeder {
  port: number;
  /** Settles when the stream was sent whole; rejects when the replica went away or misbehaved. */
  sent: Promise<void>;
  close(): Promise<void>;
}

export async function startFeeder(plan: FeedPlan): Promise<Feeder> {
  let served = false;
  let settle!: { resolve: () => void; reject: (err: unknown) => void };
  const sent = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  sent.catch(() => {});
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const reader = new RespReader();
    socket.on('data', (bytes: Buffer) => {
      try {
        reader.feed(bytes, (value) => {
          const [name, sub] = commandWords(value);
          if (name !== 'PSYNC' && name !== 'SYNC') return answer(socket, name, sub);
          if (served) return void socket.destroy();
          served = true;
          serve(socket, plan).then(settle.resolve, settle.reject);
        });
      } catch (err) {
        settle.reject(err);
        socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    sent,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The replica's handshake: PING, AUTH, REPLCONF; ACKs need no answer. */
function answer(socket: net.Socket, name: string, sub: string | undefined): void {
  if (name === 'PING') socket.write('+PONG\r\n');
  else if (name === 'REPLCONF' && sub?.toUpperCase() === 'ACK') return;
  else if (name === 'REPLCONF' || name === 'AUTH') socket.write('+OK\r\n');
  else socket.write(`-ERR the replay's feeder does not serve ${name}\r\n`);
}

async function serve(socket: net.Socket, plan: FeedPlan): Promise<void> {
  const { size } = await fs.stat(plan.rdbFile);
  socket.write(`+FULLRESYNC ${plan.replid} ${plan.baseOffset}\r\n$${size}\r\n`);
  // One pipeline for the whole feed: one per file would pile listeners onto the socket.
  await pipeline(Readable.from(feed(plan)), socket, { end: false });
}

async function* feed(plan: FeedPlan): AsyncGenerator<Buffer> {
  yield* createReadStream(plan.rdbFile);
  for (const piece of plan.pieces) {
    if (piece.to > piece.from) yield* createReadStream(piece.file, { start: piece.from, end: piece.to - 1 });
  }
}
