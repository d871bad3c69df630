/**
 * The fingerprint of a NATS store: per stream its counts and sequence range, a hash of
 * every message (sequence, subject, headers, data) read in order through an ordered
 * consumer, and each durable consumer's delivered and ack floors. Streams are combined
 * in name order, so the order a store lists them in does not matter.
 */
import type { JsMsg, StreamInfo } from 'nats';
import { ContentHash } from '../shared/fingerprint';
import { type Server, streamInfo } from './jetstream';

export async function natsFingerprint(server: Server, names: string[]): Promise<string> {
  const sum = new ContentHash();
  for (const name of [...names].sort()) {
    const info = await streamInfo(server, name);
    sum.add(name, info ? await streamDigest(server, info) : 'absent');
  }
  return sum.hex();
}

async function streamDigest(server: Server, info: StreamInfo): Promise<string> {
  const { messages, bytes, first_seq, last_seq } = info.state;
  const sum = new ContentHash().add(messages, bytes, first_seq, last_seq);
  // Consumers first: the ordered consumer reading the messages is itself an (ephemeral) one.
  sum.add(await consumersDigest(server, info.config.name));
  if (messages > 0) sum.add(await messagesDigest(server, info.config.name, last_seq));
  return sum.hex();
}

/** Durable consumers only: ephemeral ones belong to a client's session, not to the stream's data. */
async function consumersDigest(server: Server, stream: string): Promise<string> {
  const sum = new ContentHash();
  const consumers = [];
  for await (const c of server.jsm.consumers.list(stream)) if (c.config.durable_name) consumers.push(c);
  consumers.sort((a, b) => a.name.localeCompare(b.name));
  for (const c of consumers)
    sum.add(
      c.name,
      c.delivered.stream_seq,
      c.delivered.consumer_seq,
      c.ack_floor.stream_seq,
      c.ack_floor.consumer_seq,
    );
  return sum.hex();
}

/** Every message up to `lastSeq`, in sequence order: O(messages), one pass. */
async function messagesDigest(server: Server, stream: string, lastSeq: number): Promise<string> {
  const sum = new ContentHash();
  const consumer = await server.nc.jetstream().consumers.get(stream, { name_prefix: 'lazarus_fp' });
  const messages = await consumer.consume({ max_messages: 1000 });
  try {
    for await (const msg of messages) {
      if (msg.seq > lastSeq) break;
      addMessage(sum, msg);
      if (msg.seq === lastSeq || msg.info.pending === 0) break;
    }
  } finally {
    await messages.close();
  }
  return sum.hex();
}

function addMessage(sum: ContentHash, msg: JsMsg): void {
  const headers = [...(msg.headers ?? [])];
  sum.add(msg.seq, msg.subject, headers.length);
  for (const [key, values] of headers) sum.add(key, values.length, ...values);
  sum.add(Buffer.from(msg.data));
}
