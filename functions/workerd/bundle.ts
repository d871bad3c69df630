/**
 * A Worker's code as Lazarus stores it, "workerd-modules/1": its ES modules in name order,
 * with nothing else (no timestamps, owners or modes), so the same code always gives the
 * same bytes and SHA-256.
 *
 *   bundle = magic "lazarus-workerd-modules/1\n"
 *            then per module: name length (4 bytes, BE), name (UTF-8), size (4 bytes, BE), bytes
 *            then a name length of 0
 *
 * Worker code is small (Cloudflare caps a Worker at 10 MiB): a bundle is read whole, up
 * to MAX_BUNDLE, rather than streamed module by module.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';

export const BUNDLE_FORMAT = 'workerd-modules/1';
const MAGIC = Buffer.from('lazarus-workerd-modules/1\n');
const MAX_BUNDLE = 64 * 1024 * 1024;

export interface BundleDigest {
  sha256: string;
  size: number;
  format: string;
}

/** A module name as the bundle holds it: a relative POSIX path that stays inside the bundle. */
export function checkModuleName(name: string): string {
  const parts = name.split('/');
  if (
    name.length === 0 ||
    name.includes('\\') ||
    name.includes('\0') ||
    parts.some((p) => p === '' || p === '.' || p === '..')
  )
    throw new Error(`module name ${JSON.stringify(name)}: not a relative path inside the bundle`);
  return name;
}

function u32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
}

/** The bundle of the named modules under `root`, in name order. */
export async function packModules(root: string, names: string[]): Promise<Buffer> {
  const parts: Buffer[] = [MAGIC];
  for (const name of [...names].sort()) {
    const bytes = await fs.readFile(path.join(root, checkModuleName(name)));
    const encoded = Buffer.from(name, 'utf8');
    parts.push(u32(encoded.length), encoded, u32(bytes.length), bytes);
  }
  parts.push(u32(0));
  return Buffer.concat(parts);
}

export function digestOf(bundle: Buffer): BundleDigest {
  return {
    sha256: createHash('sha256').update(bundle).digest('hex'),
    size: bundle.length,
    format: BUNDLE_FORMAT,
  };
}

/** Reads a bundle stream whole, checking it is the one `expected` names. */
export async function readBundle(stream: Readable, expected: BundleDigest): Promise<Buffer> {
  if (expected.format !== BUNDLE_FORMAT)
    throw new Error(`bundle format ${expected.format}: the workerd platform reads ${BUNDLE_FORMAT} only`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > MAX_BUNDLE) throw new Error(`bundle larger than ${MAX_BUNDLE} bytes: not a Worker's code`);
    chunks.push(chunk as Buffer);
  }
  const bundle = Buffer.concat(chunks);
  const actual = digestOf(bundle);
  if (actual.sha256 !== expected.sha256 || actual.size !== expected.size)
    throw new Error(
      `bundle is damaged: ${actual.size} bytes with SHA-256 ${actual.sha256}, ` +
        `the version names ${expected.size} bytes with ${expected.sha256}`,
    );
  return bundle;
}

/** The modules of a bundle, by name. */
export function unpackModules(bundle: Buffer): Map<string, Buffer> {
  if (!bundle.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error(`not a ${BUNDLE_FORMAT} bundle`);
  const modules = new Map<string, Buffer>();
  let at = MAGIC.length;
  const take = (length: number): Buffer => {
    if (at + length > bundle.length) throw new Error(`${BUNDLE_FORMAT} bundle cut short`);
    const part = bundle.subarray(at, at + length);
    at += length;
    return part;
  };
  for (;;) {
    const nameLength = take(4).readUInt32BE();
    if (nameLength === 0) break;
    const name = checkModuleName(take(nameLength).toString('utf8'));
    modules.set(name, take(take(4).readUInt32BE()));
  }
  return modules;
}

/** Writes a bundle's modules under `root` (a fresh directory). */
export async function writeModules(root: string, modules: Map<string, Buffer>): Promise<void> {
  for (const [name, bytes] of modules) {
    const file = path.join(root, name);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, bytes);
  }
}

/** Every file under `root`, as module names (relative POSIX paths). */
export async function listModules(root: string): Promise<string[]> {
  const entries = await fs.readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}
