import { createHash, Hash } from 'node:crypto';

/** Feeds values to a SHA-256 with length prefixes, so ("ab","c") and ("a","bc") differ. */
export class ContentHash {
  private readonly hash: Hash = createHash('sha256');

  add(...values: (string | Buffer | number | null)[]): this {
    for (const value of values) {
      const bytes = Buffer.isBuffer(value)
        ? value
        : Buffer.from(value === null ? '\u0000null' : String(value));
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      this.hash.update(length).update(bytes);
    }
    return this;
  }

  hex(): string {
    return this.hash.digest('hex');
  }
}

/** An SQLite cell as ContentHash takes it: blobs and numbers as they are, anything else as text. */
export function sqlCell(value: unknown): string | Buffer | number | null {
  if (value === null || Buffer.isBuffer(value) || typeof value === 'number') return value;
  return String(value);
}
