/**
 * The repository's format: a plain `config` (version, chunk sizes, whether it is
 * encrypted), key files under `keys/` that unlock the master key with a password, and
 * the sealing every stored record goes through.
 *
 * The config is created with the backend's create-if-absent, after the key file: of two
 * processes initialising the same repository, one wins and the other adopts its config,
 * so no data is ever sealed with a master key the repository does not keep.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { UserError } from '../../model/errors';
import { type NotFoundError, type StorageBackend } from '../storage/backend';
import { type ChunkerParams, defaultChunkerParams } from './chunker';
import { type KeyFile, SealingKey, createKeyFile, unlockKeyFile } from './crypto';
import { schemeOf } from '../../model/paths';
import { type HeaderSeal, plainHeader } from './pack';
import { CONFIG_KEY, KEYS_PREFIX, LEGACY_CONFIG_KEY, keyFileKey, keyFilesPrefix } from '../layout';

export const FORMAT_VERSION = 2;

export interface RepositoryConfig {
  version: typeof FORMAT_VERSION;
  id: string;
  createdAt: string;
  chunker: { minSize: number; avgSize: number; maxSize: number };
  compression: 'zstd';
  encryption: 'aes-256-gcm' | 'none';
  /** Fingerprint of the master key: tells this repository's key files from a stray one. */
  keyId?: string;
  /** Written by the first format: its objects/ are still read. */
  legacyObjects?: boolean;
}

export interface OpenedFormat {
  config: RepositoryConfig;
  /** Seals and opens every record: the master key, or nothing when unencrypted. */
  seal: HeaderSeal;
  /** The raw master key, for codec workers; undefined when unencrypted. */
  masterKey?: Buffer;
  chunker: ChunkerParams;
}

export interface FormatOptions {
  /** Initialise a repository where there is none: only a backup does, so a typo never makes an empty one. */
  create?: boolean;
  password?: string;
  chunking?: RepositoryConfig['chunker'];
  /** scrypt cost, lowered only by tests. */
  kdf?: { N: number; r: number; p: number };
}

/**
 * No repository where the manifest says: a typo in repository.path, or a repository gone.
 * Never created by reading (verify would report an empty one sound): only a backup creates one.
 */
export class MissingRepositoryError extends UserError {
  /** The type of the activity failure it becomes on a worker. */
  static readonly failureType = 'MissingRepository';

  constructor(
    readonly location: string,
    prefix = '',
  ) {
    // The manifest names a repository by the field of its scheme (repository.s3), or by its path.
    const field = `repository.${schemeOf(location) || 'path'}`;
    super(
      `${prefix}no Lazarus repository at ${location} (no "config" there): check ${field}, ` +
        'or run "lazarus backup" to create the repository',
    );
  }

  /** The same, naming the manifest whose repository field is wrong. */
  of(file: string): MissingRepositoryError {
    return new MissingRepositoryError(this.location, `${file}: `);
  }
}

export async function openFormat(backend: StorageBackend, options: FormatOptions): Promise<OpenedFormat> {
  const config = (await readConfig(backend)) ?? (await initialise(backend, options));
  if (config.version !== FORMAT_VERSION) {
    throw new UserError(
      `${backend.location}: repository format ${String(config.version)} is not supported by this version of Lazarus`,
    );
  }
  return unlock(backend, config, options.password);
}

async function readConfig(backend: StorageBackend): Promise<RepositoryConfig | undefined> {
  const raw = await backend.read(CONFIG_KEY).catch(absentAs(undefined));
  return raw ? (JSON.parse(raw.toString('utf8')) as RepositoryConfig) : undefined;
}

/** A new repository's config, or the upgrade of a first-format one (which is a repository already). */
async function initialise(backend: StorageBackend, options: FormatOptions): Promise<RepositoryConfig> {
  const legacy = await backend.stat(LEGACY_CONFIG_KEY);
  if (!legacy && !options.create) throw new MissingRepositoryError(backend.location);
  const master = options.password ? SealingKey.random() : undefined;
  const config: RepositoryConfig = {
    version: FORMAT_VERSION,
    id: randomUUID(),
    createdAt: new Date().toISOString(),
    chunker: options.chunking ?? pick(defaultChunkerParams),
    compression: 'zstd',
    encryption: master ? 'aes-256-gcm' : 'none',
    ...(master ? { keyId: fingerprint(master.exportRaw()) } : {}),
    ...(legacy ? { legacyObjects: true } : {}),
  };
  const keyKey = master ? keyFileKey(config.keyId!, randomUUID()) : undefined;
  if (master && keyKey) {
    const file = await createKeyFile(options.password!, master, options.kdf);
    await backend.put(keyKey, Buffer.from(JSON.stringify(file, null, 2)));
  }
  if (await backend.create(CONFIG_KEY, Buffer.from(JSON.stringify(config, null, 2)))) return config;
  // Another process initialised it first (or our retried create had in fact succeeded).
  const winner = (await readConfig(backend))!;
  if (keyKey && winner.keyId !== config.keyId) await backend.remove(keyKey);
  return winner;
}

async function unlock(
  backend: StorageBackend,
  config: RepositoryConfig,
  password: string | undefined,
): Promise<OpenedFormat> {
  const chunkerFor = (seed: string): ChunkerParams => ({ ...config.chunker, seed });
  if (config.encryption === 'none') {
    if (password) {
      throw new UserError(
        `${backend.location} was created without encryption, but a password is set: ` +
          'unset LAZARUS_PASSWORD and repository.password_file to use it, or point at a new repository',
      );
    }
    return { config, seal: plainHeader, chunker: chunkerFor(config.id) };
  }
  if (!password) {
    throw new UserError(
      `${backend.location} is encrypted: give its password in LAZARUS_PASSWORD or in the file named by repository.password_file`,
    );
  }
  const master = await unlockMasterKey(backend, config, password);
  const raw = master.exportRaw();
  // Cut points derived from the secret key reveal nothing about the content (restic does the same).
  const seed = createHmac('sha256', raw).update('lazarus chunker').digest('hex');
  return { config, seal: master, masterKey: raw, chunker: chunkerFor(seed) };
}

async function unlockMasterKey(backend: StorageBackend, config: RepositoryConfig, password: string) {
  const keyFiles: string[] = [];
  for await (const { key } of backend.list(KEYS_PREFIX)) {
    if (key.startsWith(keyFilesPrefix(config.keyId!))) keyFiles.push(key);
  }
  if (keyFiles.length === 0)
    throw new UserError(`${backend.location}: no key file for this repository in keys/`);
  let lastError: unknown;
  for (const key of keyFiles) {
    const file = JSON.parse((await backend.read(key)).toString('utf8')) as KeyFile;
    try {
      const master = await unlockKeyFile(file, password);
      if (fingerprint(master.exportRaw()) === config.keyId) return master;
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError instanceof UserError ? lastError : new UserError('wrong password for this repository');
}

function fingerprint(rawKey: Buffer): string {
  return createHmac('sha256', rawKey).update('lazarus key id').digest('hex').slice(0, 16);
}

function pick({ minSize, avgSize, maxSize }: ChunkerParams) {
  return { minSize, avgSize, maxSize };
}

/** For `.catch`: an absent key becomes `value`, any other failure is rethrown. */
export function absentAs<T>(value: T) {
  return (err: unknown): T => {
    if ((err as NotFoundError).code === 'ENOENT') return value;
    throw err;
  };
}
