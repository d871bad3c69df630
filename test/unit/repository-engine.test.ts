/** The engine's building blocks: sealing with AES-256-GCM, password key files, pack files. */
import { createHash, randomBytes } from 'node:crypto';
import { UserError } from '../../model/errors';
import { DecryptError, SealingKey, createKeyFile, unlockKeyFile } from '../../repository/engine/crypto';
import { PackError, PackWriter, readPackHeader } from '../../repository/engine/pack';
import { ChunkCodec } from '../../repository/engine/codec';

const cheapKdf = { N: 2 ** 10, r: 8, p: 1 };

describe('sealing', () => {
  const key = SealingKey.random();

  test('round trip; the same plaintext seals differently each time', () => {
    const plain = randomBytes(100_000);
    const [a, b] = [key.seal(plain), key.seal(plain)];
    expect(a.equals(b)).toBe(false);
    expect(key.open(a).equals(plain)).toBe(true);
    expect(a.length).toBe(plain.length + 28);
  });

  test('a flipped bit, a truncation or another key fails authentication', () => {
    const sealed = key.seal(Buffer.from('payments ledger'));
    const flipped = Buffer.from(sealed);
    flipped[20] ^= 0x01;
    expect(() => key.open(flipped)).toThrow(DecryptError);
    expect(() => key.open(sealed.subarray(0, sealed.length - 1))).toThrow(DecryptError);
    expect(() => key.open(sealed.subarray(0, 10))).toThrow(/too short/);
    expect(() => SealingKey.random().open(sealed)).toThrow(/wrong key, or the data was changed/);
  });

  test('a key file unlocks the master key with the password, and says so when it is wrong', async () => {
    const file = await createKeyFile('correct horse', key, cheapKdf);
    expect(JSON.stringify(file)).not.toContain(key.exportRaw().toString('base64'));
    const unlocked = await unlockKeyFile(file, 'correct horse');
    expect(unlocked.open(key.seal(Buffer.from('x'))).toString()).toBe('x');
    const wrong = unlockKeyFile(file, 'battery staple');
    await expect(wrong).rejects.toBeInstanceOf(UserError);
    await expect(wrong).rejects.toThrow('wrong password for this repository');
  });
});

describe('pack files', () => {
  const key = SealingKey.random();

  function samplePack() {
    const writer = new PackWriter(key);
    const blobs = [randomBytes(5000), randomBytes(1), randomBytes(70_000)];
    for (const blob of blobs) {
      writer.add(createHash('sha256').update(blob).digest('hex'), 'data', key.seal(blob), blob.length);
    }
    return { blobs, ...writer.finish() };
  }

  const reader = (data: Buffer) => async (offset: number, length: number) =>
    data.subarray(offset, offset + length);

  test('every blob is found again through the header, and opens to its plaintext', async () => {
    const { blobs, data, entries, id } = samplePack();
    expect(id).toBe(createHash('sha256').update(data).digest('hex'));
    const read = await readPackHeader(data.length, reader(data), key);
    expect(read).toEqual(entries);
    read.forEach((entry, i) => {
      const plain = key.open(data.subarray(entry.offset, entry.offset + entry.length));
      expect(plain.equals(blobs[i])).toBe(true);
      expect(createHash('sha256').update(plain).digest('hex')).toBe(entry.id);
    });
  });

  test('a truncated pack or a damaged header is a clear error', async () => {
    const { data } = samplePack();
    const truncated = data.subarray(0, data.length - 10);
    await expect(readPackHeader(truncated.length, reader(truncated), key)).rejects.toThrow(PackError);
    const damaged = Buffer.from(data);
    damaged[damaged.length - 20] ^= 0xff;
    await expect(readPackHeader(damaged.length, reader(damaged), key)).rejects.toThrow(
      /pack header cannot be read: authentication failed/,
    );
    await expect(readPackHeader(2, reader(data), key)).rejects.toThrow(/too short/);
  });
});

describe('chunk codec', () => {
  const key = SealingKey.random();
  const codec = new ChunkCodec(key);

  test('compressible chunks shrink; incompressible ones cost only the framing; both round trip', () => {
    const text = Buffer.from('INSERT INTO orders VALUES (1, 42, 3);\n'.repeat(20_000));
    const noise = randomBytes(200_000);
    const storedText = codec.encode(text);
    const storedNoise = codec.encode(noise);
    expect(storedText.length).toBeLessThan(text.length / 20);
    expect(storedNoise.length).toBe(noise.length + 1 + 28);
    expect(codec.decode(storedText).equals(text)).toBe(true);
    expect(codec.decode(storedNoise).equals(noise)).toBe(true);
  });

  test('a chunk stored under another key does not decode', () => {
    const stored = new ChunkCodec(SealingKey.random()).encode(Buffer.from('secret'));
    expect(() => codec.decode(stored)).toThrow(DecryptError);
  });
});
