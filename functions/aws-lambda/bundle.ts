/**
 * A version's bundle on disk: the code zip and each layer's zip, downloaded while Lambda's
 * presigned URLs are valid, then packed as one ustar archive with fixed names, times and
 * owners, so the same content always gives the same bytes (and the same SHA-256).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { commandInput, commandOutput } from '../../datastores/shared/process';

/** GNU tar in a form that depends on the files' bytes and names only. */
const STABLE_TAR = [
  '--format=ustar',
  '--sort=name',
  '--owner=0',
  '--group=0',
  '--numeric-owner',
  '--mtime=@0',
  '--mode=u=rwX,go=rX',
];

export interface Downloaded {
  /** SHA-256 (hex) and Lambda's form of it (base64), and the size. */
  sha256: string;
  base64Sha256: string;
  size: number;
}

/**
 * Downloads `url` to `file`, hashing on the way. A refused download names the likely cause:
 * Lambda's code URLs expire ("valid for up to 10 minutes").
 */
export async function download(
  url: string,
  file: string,
  what: string,
  signal: AbortSignal,
): Promise<Downloaded> {
  const res = await fetch(url, { signal });
  if (!res.ok || !res.body)
    throw new Error(
      `${what}: its download URL answered ${res.status} (a presigned URL that expired, or was refused): ${(await res.text()).slice(0, 200)}`,
    );
  await fs.mkdir(path.dirname(file), { recursive: true });
  const hash = createHash('sha256');
  let size = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(res.body as WebReadableStream), hashing, createWriteStream(file), {
    signal,
  });
  const digest = hash.digest();
  return { sha256: digest.toString('hex'), base64Sha256: digest.toString('base64'), size };
}

/** Packs `dir`'s files into `archive`; returns its SHA-256 and size. */
export async function packBundle(
  dir: string,
  archive: string,
  signal: AbortSignal,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const tar = commandOutput({ cmd: 'tar', args: [...STABLE_TAR, '--create', '-C', dir, '.'], signal });
  tar.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    size += chunk.length;
  });
  await pipeline(tar, createWriteStream(archive), { signal });
  return { sha256: hash.digest('hex'), size };
}

/** Streams `file`, and removes `dir` (which holds it) once the stream is closed, read or not. */
export function streamThenRemove(file: string, dir: string): Readable {
  const stream = createReadStream(file);
  stream.on('close', () => void fs.rm(dir, { recursive: true, force: true }));
  return stream;
}

/** Unpacks a bundle into `dir`, checking its SHA-256 against the version's. */
export async function unpackBundle(bundle: Readable, dir: string, sha256: string, signal: AbortSignal) {
  await fs.mkdir(dir, { recursive: true });
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  bundle.on('error', (err) => hashing.destroy(err));
  await commandInput({ cmd: 'tar', args: ['--extract', '-C', dir], signal }, bundle.pipe(hashing));
  const actual = hash.digest('hex');
  if (actual !== sha256)
    throw new Error(`the stored bundle's SHA-256 is ${actual}, not the version's ${sha256}: it is damaged`);
}

/** Lambda's digest of a file (base64 SHA-256). */
export function lambdaDigest(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('base64');
}
