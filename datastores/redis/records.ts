/**
 * The snapshot format of a Redis keyspace: one record per key, written and read as a
 * stream so that neither side holds more than one batch in memory.
 * Record: u32 key length, key, u32 payload length, DUMP payload, i64 PTTL (-1: none).
 */
import type { Readable } from 'node:stream';

export interface KeyRecord {
  key: Buffer;
  payload: Buffer;
  pttl: number;
}

export function encodeRecord({ key, payload, pttl }: KeyRecord): Buffer {
  const out = Buffer.alloc(4 + key.length + 4 + payload.length + 8);
  let at = out.writeUInt32BE(key.length, 0);
  at += key.copy(out, at);
  at = out.writeUInt32BE(payload.length, at);
  at += payload.copy(out, at);
  out.writeBigInt64BE(BigInt(pttl), at);
  return out;
}

export async function* decodeRecords(input: Readable): AsyncGenerator<KeyRecord> {
  let buffered: Buffer = Buffer.alloc(0);
  for await (const chunk of input) {
    buffered = buffered.length === 0 ? (chunk as Buffer) : Buffer.concat([buffered, chunk as Buffer]);
    let at = 0;
    for (;;) {
      const record = readRecord(buffered, at);
      if (!record) break;
      yield record.value;
      at = record.next;
    }
    buffered = buffered.subarray(at);
  }
  if (buffered.length > 0)
    throw new Error(`Redis snapshot is truncated (${buffered.length} bytes left over)`);
}

function readRecord(buf: Buffer, at: number): { value: KeyRecord; next: number } | undefined {
  if (buf.length < at + 4) return undefined;
  const keyLength = buf.readUInt32BE(at);
  const payloadAt = at + 4 + keyLength;
  if (buf.length < payloadAt + 4) return undefined;
  const payloadLength = buf.readUInt32BE(payloadAt);
  const pttlAt = payloadAt + 4 + payloadLength;
  if (buf.length < pttlAt + 8) return undefined;
  return {
    value: {
      key: Buffer.from(buf.subarray(at + 4, payloadAt)),
      payload: Buffer.from(buf.subarray(payloadAt + 4, pttlAt)),
      pttl: Number(buf.readBigInt64BE(pttlAt)),
    },
    next: pttlAt + 8,
  };
}
