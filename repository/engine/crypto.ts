/**
 * Repository encryption: AES-256-GCM with a random master key, which is itself sealed
 * with a key derived from the user's password (scrypt) and kept in a key file, so the
 * password can change without re-encrypting the data (restic's scheme). Every sealed
 * blob is nonce (12 bytes) | ciphertext | tag (16 bytes): a wrong key, a flipped bit or a
 * truncation fails authentication instead of yielding wrong bytes.
 *
 * Not yet used by the repository (issue 4 wires it in); kept here with its tests.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { UserError } from '../../model/errors';

const NONCE = 12;
const TAG = 16;

export class DecryptError extends Error {}

export class SealingKey {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('an AES-256 key is 32 bytes');
  }

  static random(): SealingKey {
    return new SealingKey(randomBytes(32));
  }

  seal(plain: Buffer): Buffer {
    const nonce = randomBytes(NONCE);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    return Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  }

  /** The plaintext, or DecryptError when the key is wrong or the bytes were changed. */
  open(sealed: Buffer): Buffer {
    if (sealed.length < NONCE + TAG) throw new DecryptError(`sealed data too short (${sealed.length} bytes)`);
    const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, NONCE));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(NONCE, sealed.length - TAG)), decipher.final()]);
    } catch {
      throw new DecryptError('authentication failed: wrong key, or the data was changed');
    }
  }

  /** The raw key, only to be sealed into a key file. */
  exportRaw(): Buffer {
    return Buffer.from(this.key);
  }
}

/** What a repository keeps to unlock its master key with a password. */
export interface KeyFile {
  kdf: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
  /** The master key, sealed with the password-derived key (base64). */
  sealedKey: string;
  createdAt: string;
}

/** scrypt cost: about 100 ms and 32 MiB per unlock, which makes guessing passwords slow. */
export const defaultKdf = { N: 2 ** 15, r: 8, p: 1 };

export async function createKeyFile(
  password: string,
  master: SealingKey,
  kdf = defaultKdf,
): Promise<KeyFile> {
  const salt = randomBytes(32);
  const wrapping = await deriveKey(password, salt, kdf);
  return {
    kdf: 'scrypt',
    ...kdf,
    salt: salt.toString('base64'),
    sealedKey: wrapping.seal(master.exportRaw()).toString('base64'),
    createdAt: new Date().toISOString(),
  };
}

/** The master key; a wrong password is a UserError that says so. */
export async function unlockKeyFile(file: KeyFile, password: string): Promise<SealingKey> {
  const wrapping = await deriveKey(password, Buffer.from(file.salt, 'base64'), file);
  try {
    return new SealingKey(wrapping.open(Buffer.from(file.sealedKey, 'base64')));
  } catch (err) {
    if (err instanceof DecryptError) throw new UserError('wrong password for this repository');
    throw err;
  }
}

function deriveKey(
  password: string,
  salt: Buffer,
  kdf: { N: number; r: number; p: number },
): Promise<SealingKey> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r }, (err, key) =>
      err ? reject(err) : resolve(new SealingKey(key)),
    ),
  );
}
