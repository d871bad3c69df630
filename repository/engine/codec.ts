/**
 * How a chunk is stored: compressed with zstd after chunking (compressing first would
 * defeat deduplication), then sealed. A chunk that does not shrink is kept as it is,
 * with a one-byte marker, so incompressible data (media, encrypted dumps) costs nothing
 * extra to decompress.
 *
 * Not yet used by the repository (issue 4 wires it in); kept here with its tests.
 */
import { Compressor, decompress } from 'zstd-napi';
import type { HeaderSeal } from './pack';

const RAW = 0;
const ZSTD = 1;

export class ChunkCodec {
  private readonly compressor = new Compressor();

  constructor(
    private readonly seal: HeaderSeal,
    level = 3,
  ) {
    this.compressor.setParameters({ compressionLevel: level });
  }

  encode(plain: Buffer): Buffer {
    const compressed = this.compressor.compress(plain);
    const body = compressed.length < plain.length ? [Buffer.of(ZSTD), compressed] : [Buffer.of(RAW), plain];
    return this.seal.seal(Buffer.concat(body));
  }

  decode(stored: Buffer): Buffer {
    const framed = this.seal.open(stored);
    const body = framed.subarray(1);
    if (framed[0] === RAW) return Buffer.from(body);
    if (framed[0] === ZSTD) return decompress(body);
    throw new Error(`unknown chunk encoding ${framed[0]}`);
  }
}
