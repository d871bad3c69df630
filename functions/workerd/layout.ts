/**
 * Where the workerd host keeps its own files inside a function's state directory, and
 * the deployed version's record. Miniflare owns the rest of the state directory (its
 * d1/, kv/, r2/ persist roots); Lazarus writes only under `lazarus-host/`, which
 * miniflare never touches, so a D1/KV/R2 restore and a code deploy never overlap.
 *
 *   <state>/lazarus-host/deployed/modules/…       the deployed version's ES modules
 *   <state>/lazarus-host/deployed/version.json    its configuration (DeployedVersion)
 *   <state>/lazarus-host/secrets.json             its secret values (0600), never captured
 *   <state>/lazarus-host/listen.json              the address the Worker answers on
 *   <state>/lazarus-host/host.json                the running host: pid and admin URL
 *   <state>/lazarus-host/quiesced                 present while the function is quiesced
 *   <state>/lazarus-host/host.log                 the host's (and workerd's) output
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { BindingRef, VersionContent } from '../../contracts/functions';

export interface HostPaths {
  state: string;
  hostDir: string;
  deployed: string;
  modules: string;
  versionFile: string;
  secrets: string;
  listen: string;
  hostJson: string;
  quiesced: string;
  log: string;
  startLock: string;
}

export function hostPaths(state: string): HostPaths {
  const hostDir = path.join(path.resolve(state), 'lazarus-host');
  const deployed = path.join(hostDir, 'deployed');
  return {
    state: path.resolve(state),
    hostDir,
    deployed,
    modules: path.join(deployed, 'modules'),
    versionFile: path.join(deployed, 'version.json'),
    secrets: path.join(hostDir, 'secrets.json'),
    listen: path.join(hostDir, 'listen.json'),
    hostJson: path.join(hostDir, 'host.json'),
    quiesced: path.join(hostDir, 'quiesced'),
    log: path.join(hostDir, 'host.log'),
    startLock: path.join(hostDir, 'start.lock'),
  };
}

/**
 * The staging name of deploys (one at a time per function): a deploy, or a host starting,
 * after a crash finds what the last deploy left under it and puts the previous version back.
 */
export const DEPLOY_STAGING = 'deploy';

/** The Miniflare-relevant configuration a version holds (content.config). */
export type WorkerdConfig = {
  /** The entry module's name inside the bundle. */
  main: string;
  compatibility_date: string;
  compatibility_flags: string[];
  vars: Record<string, string | number | boolean>;
};

/** deployed/version.json: the version's content apart from the bundle (recomputed from modules/). */
export interface DeployedVersion {
  id: string;
  content: Omit<VersionContent, 'bundle'> & { config: WorkerdConfig; bundleFormat: string };
}

/** The running host, as it announces itself in host.json. */
export interface HostAnnouncement {
  pid: number;
  admin: string;
  startedAt: string;
}

export interface ListenAddress {
  host: string;
  port: number;
}

/** What the host's admin API answers. */
export interface HostStatus {
  pid: number;
  state: 'serving' | 'quiesced' | 'empty' | 'failed';
  /** Where the Worker answers while serving. */
  url?: string;
  /** The version it serves (or would serve when resumed). */
  version?: string;
  error?: string;
}

export async function readJsonFile<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

/** Writes a small JSON file in one rename, so a reader never sees half of it. */
export async function writeJsonFile(file: string, value: unknown, mode = 0o644): Promise<void> {
  const temp = `${file}.tmp-${process.pid}`;
  await fs.writeFile(temp, JSON.stringify(value, null, 2) + '\n', { mode });
  await fs.chmod(temp, mode); // the umask may have narrowed or widened it
  await fs.rename(temp, file);
}

/** Miniflare's binding options for a version's D1, KV and R2 bindings. */
export function bindingOptions(bindings: BindingRef[]): {
  d1Databases: Record<string, string>;
  kvNamespaces: Record<string, string>;
  r2Buckets: Record<string, string>;
} {
  const pick = (kind: BindingRef['kind']) =>
    Object.fromEntries(bindings.filter((b) => b.kind === kind).map((b) => [b.name, b.resource]));
  return { d1Databases: pick('d1'), kvNamespaces: pick('kv'), r2Buckets: pick('r2') };
}
