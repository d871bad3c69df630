/**
 * The self-hosted workerd platform: a Worker served by its own host process (host.ts),
 * which Lazarus attaches to through host.json or starts. The live version is the one
 * under lazarus-host/deployed/; capture reads it there, never the project on disk.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { FunctionVersion, VersionContent } from '../../contracts/functions';
import { UserError } from '../../model/errors';
import type { Datastore } from '../../model/manifest';
import { clearStaging, exists, stagingPaths } from '../../datastores/shared/local-paths';
import { resolveSecret } from '../../datastores/shared/secrets';
import {
  type CapturedFunction,
  type DeployOutcome,
  FunctionAbsentError,
  MissingSecretError,
  type PlatformFor,
  type ProbeResult,
} from '../platform';
import type { WorkerdFunction } from './spec';
import { digestOf, listModules, packModules, readBundle, unpackModules, writeModules } from './bundle';
import { attachHost, attachOrRun, stopHost } from './host-client';
import { captureProject } from './project';
import { httpCall } from '../http-call';
import {
  DEPLOY_STAGING,
  type DeployedVersion,
  hostPaths,
  type HostPaths,
  type HostStatus,
  readJsonFile,
  writeJsonFile,
} from './layout';

const PROBE_BODY_LIMIT = 4096;
const PROBE_TIMEOUT_MS = 10_000;

function pathsOf(fn: WorkerdFunction): HostPaths {
  if (!fn.state)
    throw new UserError(
      `workerd function ${fn.wrangler}: no state directory (the manifest's defaults were not applied)`,
    );
  return hostPaths(fn.state);
}

async function capture(fn: WorkerdFunction): Promise<CapturedFunction> {
  const paths = pathsOf(fn);
  // A deploy may swap deployed/ while it is read: the record is read again after the
  // modules, and the read repeated when it changed in between.
  for (let attempt = 0; ; attempt++) {
    const dir = await liveDir(paths);
    if (!dir) throw new FunctionAbsentError(fn.wrangler, `nothing is deployed in ${paths.deployed}`);
    const versionFile = path.join(dir, 'version.json');
    const before = await fs.readFile(versionFile, 'utf8');
    const modulesDir = path.join(dir, 'modules');
    const bundle = await packModules(modulesDir, await listModules(modulesDir));
    const after = await fs.readFile(versionFile, 'utf8').catch(() => '');
    if (before !== after && attempt < 3) continue;
    const { content } = JSON.parse(before) as DeployedVersion;
    const { bundleFormat, ...rest } = content;
    const digest = { ...digestOf(bundle), format: bundleFormat };
    return { content: { ...rest, bundle: digest }, bundle: Readable.from([bundle]) };
  }
}

/**
 * The directory of the live version: deployed/, or, after a deploy that crashed between
 * its two renames, the previous version it had set aside (which the host still serves).
 */
async function liveDir(paths: HostPaths): Promise<string | undefined> {
  const { setAside } = stagingPaths(paths.deployed, DEPLOY_STAGING);
  for (const dir of [paths.deployed, setAside]) if (await exists(path.join(dir, 'version.json'))) return dir;
  return undefined;
}

/** Every secret the version reads, with its value from the manifest's refs; MissingSecretError before anything changes. */
function secretValues(fn: WorkerdFunction, version: FunctionVersion): Record<string, string> {
  const values: Record<string, string> = {};
  const missing: string[] = [];
  const reasons: string[] = [];
  for (const name of version.secrets) {
    const ref = fn.secrets[name];
    if (!ref) {
      missing.push(name);
      reasons.push(`add secrets.${name}: {env: VAR} or {file: PATH} to the function in the manifest`);
      continue;
    }
    try {
      values[name] = resolveSecret(ref)!;
    } catch (err) {
      missing.push(name);
      reasons.push(`${name}: ${(err as Error).message}`);
    }
  }
  if (missing.length > 0) throw new MissingSecretError(fn.wrangler, missing, reasons.join('; '));
  return values;
}

async function deploy(
  fn: WorkerdFunction,
  version: FunctionVersion,
  bundle: Readable,
): Promise<DeployOutcome> {
  const paths = pathsOf(fn);
  let secrets: Record<string, string>;
  try {
    secrets = secretValues(fn, version);
  } catch (err) {
    bundle.destroy();
    throw err;
  }
  await fs.mkdir(paths.hostDir, { recursive: true });
  await clearStaging(paths.deployed, DEPLOY_STAGING);
  const status = await servesAlready(fn, paths, version.id, secrets);
  if (status) {
    bundle.destroy();
    return { live: version.id, endpoint: status.url, how: 'unchanged' };
  }
  await stageVersion(paths, version, bundle);
  return swapIn(fn, paths, version.id, secrets);
}

/** The host's status when it serves `id` already, with these secrets on this address. */
async function servesAlready(
  fn: WorkerdFunction,
  paths: HostPaths,
  id: string,
  secrets: Record<string, string>,
): Promise<HostStatus | undefined> {
  const same = async (file: string, value: unknown) =>
    JSON.stringify(await readJsonFile(file)) === JSON.stringify(value);
  const live = await readJsonFile<DeployedVersion>(paths.versionFile);
  if (live?.id !== id || !(await same(paths.secrets, secrets))) return undefined;
  if (!(await same(paths.listen, { host: fn.host, port: fn.port }))) return undefined;
  // The files alone are not enough: a deploy that crashed before its reload left the
  // host serving the version before.
  const { status } = await attachOrRun(paths);
  return status.version === id && status.state !== 'failed' ? status : undefined;
}

/** Writes the version (its modules and record) to the staging directory beside deployed/. */
async function stageVersion(paths: HostPaths, version: FunctionVersion, bundle: Readable): Promise<void> {
  const modules = unpackModules(await readBundle(bundle, version.bundle));
  const config = version.config as DeployedVersion['content']['config'];
  if (!modules.has(config.main))
    throw new Error(`version ${version.id}: its main module ${config.main} is not in its bundle`);
  const { staging } = stagingPaths(paths.deployed, DEPLOY_STAGING);
  await writeModules(path.join(staging, 'modules'), modules);
  const { id, bundle: digest, ...content } = version;
  await writeJsonFile(path.join(staging, 'version.json'), {
    id,
    content: { ...content, config, bundleFormat: digest.format },
  } satisfies DeployedVersion);
}

/**
 * Puts the staged version in deployed/'s place and has the host serve it. The previous
 * version is set aside until the new one serves, and put back if it does not; a first
 * version that does not start is removed, so the function stays absent.
 */
async function swapIn(
  fn: WorkerdFunction,
  paths: HostPaths,
  id: string,
  secrets: Record<string, string>,
): Promise<DeployOutcome> {
  const { staging, setAside } = stagingPaths(paths.deployed, DEPLOY_STAGING);
  const previousSecrets = await fs.readFile(paths.secrets, 'utf8').catch(() => undefined);
  const hadVersion = await exists(paths.deployed);
  if (hadVersion) await fs.rename(paths.deployed, setAside);
  await fs.rename(staging, paths.deployed);
  await writeJsonFile(paths.secrets, secrets, 0o600);
  await writeJsonFile(paths.listen, { host: fn.host, port: fn.port });
  try {
    const status = await reloadOrStart(paths);
    await fs.rm(setAside, { recursive: true, force: true });
    return { live: id, endpoint: status.url, how: hadVersion ? 'updated' : 'created' };
  } catch (err) {
    await fs.rm(paths.deployed, { recursive: true, force: true });
    if (hadVersion) await fs.rename(setAside, paths.deployed);
    if (previousSecrets === undefined) await fs.rm(paths.secrets, { force: true });
    else await fs.writeFile(paths.secrets, previousSecrets, { mode: 0o600 });
    if (hadVersion) await reloadOrStart(paths).catch(() => {});
    throw new Error(
      `version ${id} did not start on ${describe(fn)}: ${(err as Error).message}` +
        (hadVersion ? '\nThe previous version is deployed again.' : '\nNothing is deployed.'),
    );
  }
}

async function reloadOrStart(paths: HostPaths) {
  const { client, started, status } = await attachOrRun(paths);
  // A host started just now has read the new version already.
  const answer = started ? status : await client.call('POST', '/reload');
  if (answer.state === 'failed') throw new Error(answer.error ?? 'the host serves nothing');
  return answer;
}

/** The d1/kv/r2 datastores behind a version's bindings: their data lives in the function's state directory. */
function boundResources(fn: WorkerdFunction, content: VersionContent): Record<string, Datastore> {
  const state = pathsOf(fn).state;
  const stores: Record<string, Datastore> = {};
  for (const binding of content.bindings) {
    if (binding.kind === 'd1')
      stores[binding.name] = { kind: 'd1', path: state, database_id: binding.resource };
    if (binding.kind === 'kv')
      stores[binding.name] = { kind: 'kv', path: state, namespace_id: binding.resource };
    if (binding.kind === 'r2') stores[binding.name] = { kind: 'r2', path: state, bucket: binding.resource };
  }
  return stores;
}

async function quiesce(fn: WorkerdFunction): Promise<void> {
  const paths = pathsOf(fn);
  const host = await attachHost(paths);
  if (host) {
    await host.call('POST', '/quiesce');
    return;
  }
  // No host runs: the marker keeps the next one from serving until resume.
  await fs.mkdir(paths.hostDir, { recursive: true });
  await fs.writeFile(paths.quiesced, `${new Date().toISOString()}\n`);
}

async function resume(fn: WorkerdFunction): Promise<void> {
  const { client } = await attachOrRun(pathsOf(fn));
  const status = await client.call('POST', '/resume');
  if (status.state === 'failed') throw new Error(`${describe(fn)}: ${status.error ?? 'did not start'}`);
}

async function probe(fn: WorkerdFunction, signal: AbortSignal): Promise<ProbeResult> {
  const { status } = await attachOrRun(pathsOf(fn));
  const base = status.url ?? `http://${fn.host}:${fn.port}/`;
  try {
    const res = await httpCall(new URL(fn.probe.path, base), {
      signal: AbortSignal.any([signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]),
    });
    const body = res.body.slice(0, PROBE_BODY_LIMIT);
    const ok =
      res.status === fn.probe.status && (fn.probe.contains === undefined || body.includes(fn.probe.contains));
    return { ok, status: res.status, body };
  } catch (err) {
    const cause = (err as { cause?: Error }).cause;
    return {
      ok: false,
      status: 0,
      body: `no answer from ${base}: ${cause?.message ?? (err as Error).message}`,
    };
  }
}

/** A drill's copy: its host stopped, then its state (deployed version and data) removed. */
async function removeCopy(fn: WorkerdFunction): Promise<void> {
  const paths = pathsOf(fn);
  await stopHost(paths);
  await fs.rm(paths.state, { recursive: true, force: true });
}

function describe(fn: WorkerdFunction): string {
  return `workerd ${path.basename(path.dirname(fn.wrangler))} at ${fn.host}:${fn.port}`;
}

export const workerdPlatform: PlatformFor<'workerd'> = {
  platform: 'workerd',
  capture: (fn) => capture(fn),
  fromProject: (fn) => captureProject(fn),
  deploy: (fn, version, bundle) => deploy(fn, version, bundle),
  boundResources,
  quiesce: (fn) => quiesce(fn),
  resume: (fn) => resume(fn),
  probe: (fn, ctx) => probe(fn, ctx.signal),
  removeCopy: (fn) => removeCopy(fn),
  describe,
};
