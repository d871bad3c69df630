/**
 * A streaming RESP2 reader: fed the bytes of a connection in whatever chunks they arrive,
 * it reports each complete top-level value with the byte count at its end. Bulk strings
 * are counted, not kept, beyond a small size, so a 500 MB SET costs no memory; the
 * replication stream, a replica's commands and a server's replies all go through it.
 */

/** A RESP value as far as it is kept: small bulks as text, an array's first items. */
export interface RespValue {
  type: '+' | '-' | ':' | '$' | '*';
  /** Simple strings, errors, integers, and bulks up to KEPT_BULK bytes (latin1: byte-exact). */
  text?: string;
  items?: RespValue[];
  /** Set on a nested value or a top-level array: an error reply was inside (EXEC's). */
  containsError?: boolean;
}

const KEPT_BULK = 512;
const KEPT_ITEMS = 8;
const MAX_LINE = 64 * 1024;

interface Frame {
  value: RespValue;
  left: number;
}

export class RespReader {
  /** Bytes consumed since the reader was created. */
  private consumed = 0;
  private line: Buffer[] = [];
  private lineBytes = 0;
  private stack: Frame[] = [];
  private bulkLeft = 0;
  private bulk: Buffer[] | undefined;

  /** `onValue(value, end)`: `end` counts the bytes consumed up to the value's last byte. */
  feed(chunk: Buffer, onValue: (value: RespValue, end: number) => void): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.bulkLeft > 0) {
        const take = Math.min(this.bulkLeft, chunk.length - i);
        this.bulk?.push(chunk.subarray(i, i + take));
        this.bulkLeft -= take;
        i += take;
        if (this.bulkLeft === 0) this.finishBulk(this.consumed + i, onValue);
        continue;
      }
      const newline = chunk.indexOf(10, i);
      if (newline < 0) {
        this.keepLine(chunk.subarray(i));
        break;
      }
      this.keepLine(chunk.subarray(i, newline));
      i = newline + 1;
      const line = Buffer.concat(this.line).toString('latin1').replace(/\r$/, '');
      this.line = [];
      this.lineBytes = 0;
      this.header(line, this.consumed + i, onValue);
    }
    this.consumed += chunk.length;
  }

  /** True between values: nothing of a value has been read yet. */
  get atBoundary(): boolean {
    return this.stack.length === 0 && this.bulkLeft === 0 && this.lineBytes === 0;
  }

  private keepLine(part: Buffer): void {
    this.lineBytes += part.length;
    if (this.lineBytes > MAX_LINE)
      throw new Error('RESP: a header line longer than 64 KiB: not a RESP stream');
    if (part.length > 0) this.line.push(Buffer.from(part));
  }

  private header(line: string, end: number, onValue: (value: RespValue, end: number) => void): void {
    // A master keeps a waiting replica's link alive with bare newlines.
    if (line === '' && this.stack.length === 0) return;
    const type = line[0];
    const rest = line.slice(1);
    if (type === '*' || type === '$') {
      const count = Number(rest);
      if (!Number.isInteger(count)) throw new Error(`RESP: bad length in "${line.slice(0, 40)}"`);
      if (count < 0) return this.complete({ type }, end, onValue);
      if (type === '*') {
        if (count === 0) return this.complete({ type, items: [] }, end, onValue);
        this.stack.push({ value: { type, items: [] }, left: count });
        return;
      }
      this.bulkLeft = count + 2;
      this.bulk = count <= KEPT_BULK ? [] : undefined;
      return;
    }
    if (type === '+' || type === '-' || type === ':')
      return this.complete({ type, text: rest }, end, onValue);
    throw new Error(`RESP: unexpected "${line.slice(0, 40)}"`);
  }

  private finishBulk(end: number, onValue: (value: RespValue, end: number) => void): void {
    const text = this.bulk ? Buffer.concat(this.bulk).subarray(0, -2).toString('latin1') : undefined;
    this.bulk = undefined;
    this.complete({ type: '$', text }, end, onValue);
  }

  private complete(value: RespValue, end: number, onValue: (value: RespValue, end: number) => void): void {
    const frame = this.stack[this.stack.length - 1];
    if (!frame) return onValue(value, end);
    const items = frame.value.items as RespValue[];
    if (items.length < KEPT_ITEMS) items.push(value);
    if (value.type === '-' || value.containsError) frame.value.containsError = true;
    if (--frame.left > 0) return;
    this.stack.pop();
    this.complete(frame.value, end, onValue);
  }
}

/** A command's name (upper case) and its first arguments, from a RESP array. */
export function commandWords(value: RespValue): string[] {
  const words = (value.items ?? []).map((item) => item.text ?? '');
  if (words.length > 0) words[0] = words[0].toUpperCase();
  return words;
}

/** A command as RESP: an array of bulk strings. */
export function encodeCommand(...args: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}
