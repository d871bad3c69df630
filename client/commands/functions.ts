/**
 * `lazarus functions versions|rollback|deploy|watch`: every version of a function that
 * Lazarus has seen, kept with the backups that hold it; a rollback of its code, its data,
 * or both; a deploy from its project on disk; and the watcher that records every change.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Command } from 'commander';
import { functionsWatchWorkflowId, isBackupId } from '../../contracts/ids';
import { workflowTypes } from '../../contracts/operations';
import type { VersionRecord } from '../../contracts/functions';
import { loadManifest } from '../../config/load-manifest';
import { platformFor } from '../../functions/platforms';
import type { FunctionSpec } from '../../functions/registry';
import { shortVersion, versionId } from '../../functions/versions';
import { appSpec } from '../../model/app-spec';
import { UserError } from '../../model/errors';
import type { Manifest } from '../../model/manifest';
import { keepsState } from '../../model/restore-selection';
import type { BackupEntry } from '../../repository/records/catalog';
import type { Repository } from '../../repository/repository';
import { runAttributes } from '../../temporal/runs';
import { connectClient, settingsFromEnv } from '../../temporal/settings';
import type { WatchFunctionsInput, WatchStatus } from '../../workflows/function-runs';
import { stopWatchingSignal, watchStatusQuery } from '../../workflows/function-runs';
import { action, json, openRepositoryOf, printJson } from '../command-kit';
import { execute, printRunResult } from '../execute';
import { cliContext, deployProject } from '../function-deploy';
import { formatBytes, table } from '../output';

export function register(program: Command): void {
  const functions = program
    .command('functions')
    .description(
      'serverless functions: their versions, kept with their data, and rollbacks of either or both',
    );
  functions
    .command('versions <manifest> <function>')
    .description('every version Lazarus has recorded, the backups that hold each, and which is live')
    .addOption(json())
    .action(action(versions));
  functions
    .command('rollback <manifest> <function>')
    .description('deploy an earlier version with the data backed up with it (or only one of them)')
    .requiredOption(
      '--to <version|backup>',
      'a version (fv-..., as `functions versions` lists) or a backup ID',
    )
    .option('--code-only', "deploy the version's code and configuration; leave the data as it is")
    .option('--data-only', 'restore the data it is bound to; leave the live code as it is')
    .option('-y, --yes', 'roll back without waiting for approval (the rollback replaces what is live)')
    .option('--no-wait', 'print the run ID and return at once')
    .addOption(json())
    .action(action(rollback));
  functions
    .command('deploy <manifest> <function>')
    .description(
      "deploy the function's project as it is on disk (self-hosted workerd), recording its version",
    )
    .addOption(json())
    .action(action(deploy));
  functions
    .command('watch <manifest>')
    .description('start the watcher that records a new version whenever a function changes (--stop: stop it)')
    .option('--stop', 'stop the watcher')
    .option('--status', 'show what the watcher saw last')
    .addOption(json())
    .action(action(watch));
}

interface Flags {
  json?: boolean;
}

/** The function service, or a clear error naming the manifest's functions. */
function functionOf(manifest: Manifest, file: string, service: string): FunctionSpec {
  const fn = manifest.services[service]?.function;
  if (fn) return fn;
  const known = Object.keys(manifest.services).filter((s) => manifest.services[s].function);
  throw new UserError(
    `${file}: services.${service} is not a function; ` +
      (known.length
        ? `functions: ${known.join(', ')}`
        : 'the manifest has none (a service with function: {...})'),
  );
}

async function versions(file: string, service: string, flags: Flags) {
  const manifest = loadManifest(file);
  const fn = functionOf(manifest, file, service);
  const repo = await openRepositoryOf(file, manifest.repository);
  const records = await repo.functions.versions(manifest.app, service);
  const backups = await backupsByVersion(repo, manifest.app, service);
  const live = await liveVersion(fn);
  const rows = records.map((r) => ({
    version: r.version.id,
    firstSeenAt: r.firstSeenAt,
    source: r.source,
    bytes: r.bundle.size,
    live: r.version.id === live.version,
    backups: backups.get(r.version.id) ?? [],
    bindings: r.version.bindings,
  }));
  if (flags.json) return printJson({ app: manifest.app, function: service, live, versions: rows });
  if (rows.length === 0)
    console.log(`no version of ${service} is recorded yet: run \`lazarus backup ${file}\``);
  else
    console.log(
      table(
        ['VERSION', 'FIRST SEEN', 'BY', 'SIZE', 'LIVE', 'BACKUPS'],
        rows.map((r) => [
          shortVersion(r.version),
          r.firstSeenAt,
          r.source,
          formatBytes(r.bytes),
          r.live ? 'live' : '',
          r.backups.length ? r.backups.slice(-3).join(', ') + (r.backups.length > 3 ? ', ...' : '') : '-',
        ]),
      ),
    );
  if (live.problem) console.error(`live version unknown: ${live.problem}`);
  else if (!rows.some((r) => r.live))
    console.error(`the live version (${shortVersion(live.version!)}) is not recorded yet`);
}

/** Which backups hold each version of a function, oldest first. */
async function backupsByVersion(
  repo: Repository,
  app: string,
  service: string,
): Promise<Map<string, string[]>> {
  const held = new Map<string, string[]>();
  for (const entry of await repo.catalog.list(app)) {
    const version = entry.services[service]?.version;
    if (version) held.set(version, [...(held.get(version) ?? []), entry.id]);
  }
  return held;
}

/** The ID of what is live now, read from the platform; a platform that cannot be reached says why. */
async function liveVersion(fn: FunctionSpec): Promise<{ version?: string; problem?: string }> {
  try {
    const captured = await platformFor(fn).capture(fn, cliContext());
    captured.bundle.resume();
    return { version: versionId(captured.content) };
  } catch (err) {
    return { problem: (err as Error).message };
  }
}

interface RollbackFlags extends Flags {
  to: string;
  codeOnly?: boolean;
  dataOnly?: boolean;
  yes?: boolean;
  wait: boolean;
}

/**
 * A rollback is a restore of the function's service, its bound data's services, or both,
 * from one backup; a version named without a backup is taken from the newest backup that
 * holds it, unless only its code is wanted (a version the watcher saw between backups).
 */
async function rollback(file: string, service: string, flags: RollbackFlags) {
  const manifest = loadManifest(file);
  functionOf(manifest, file, service);
  if (flags.codeOnly && flags.dataOnly)
    throw new UserError('--code-only and --data-only exclude each other: leave both out to roll back both');
  if (!flags.yes)
    throw new UserError(
      `functions rollback replaces the live ${flags.dataOnly ? 'data' : 'code'} of ${service}: pass --yes to approve it`,
    );
  const repo = await openRepositoryOf(file, manifest.repository);
  const { version, backup } = await resolveRollback(repo, manifest, service, flags);
  const spec = appSpec(manifest);
  const opts = { wait: flags.wait, json: flags.json };
  if (flags.codeOnly)
    return execute(
      opts,
      { operation: 'rollback-function', input: { spec, service, version, backupId: backup?.id } },
      printRunResult,
    );
  const data = boundServices(manifest, service);
  if (data.length === 0 && flags.dataOnly)
    throw new UserError(`${service} depends on no service that keeps data: there is no data to roll back`);
  const services = flags.dataOnly ? data : [service, ...data];
  await execute(
    opts,
    { operation: 'restore', input: { spec, backupId: backup!.id, services, approved: true } },
    printRunResult,
  );
}

/** The stateful services a function depends on: the data it is bound to. */
function boundServices(manifest: Manifest, service: string): string[] {
  return manifest.services[service].depends_on.filter((d) => keepsState(manifest.services[d]));
}

async function resolveRollback(
  repo: Repository,
  manifest: Manifest,
  service: string,
  flags: RollbackFlags,
): Promise<{ version: string; backup?: BackupEntry }> {
  if (isBackupId(flags.to)) {
    const backup = await repo.catalog.find(manifest.app, flags.to);
    const version = backup.services[service]?.version;
    if (!version)
      throw new UserError(
        `backup ${flags.to} holds no version of ${service}: pick another with \`lazarus backups\``,
      );
    return { version, backup };
  }
  const record = await versionNamed(repo, manifest.app, service, flags.to);
  if (flags.codeOnly) return { version: record.version.id };
  const holding = (await repo.catalog.list(manifest.app)).filter(
    (b) => b.services[service]?.version === record.version.id,
  );
  const newest = holding.at(-1);
  if (!newest)
    throw new UserError(
      `version ${shortVersion(record.version.id)} of ${service} is in no backup (the watcher saw it between backups), ` +
        'so no data was kept with it: pass --code-only to deploy just its code',
    );
  return { version: record.version.id, backup: newest };
}

/** A version by its ID or a unique prefix of it (`fv-1a2b3c`). */
async function versionNamed(
  repo: Repository,
  app: string,
  service: string,
  id: string,
): Promise<VersionRecord> {
  const records = await repo.functions.versions(app, service);
  const matching = records.filter((r) => r.version.id.startsWith(id));
  if (matching.length === 1) return matching[0];
  if (matching.length === 0)
    throw new UserError(
      `--to ${id}: neither a backup ID nor a recorded version of ${service}; see \`lazarus functions versions\``,
    );
  throw new UserError(`--to ${id} names ${matching.length} versions of ${service}: give more of the ID`);
}

/** Records the project's version, makes it live and prints the function's answer. */
async function deploy(file: string, service: string, flags: Flags) {
  const manifest = loadManifest(file);
  const fn = functionOf(manifest, file, service);
  // Deploying records the version: the first deploy creates the repository, as a first backup does.
  const repo = await openRepositoryOf(file, manifest.repository, { create: true });
  const deployed = await deployProject(repo, { app: manifest.app, service }, fn);
  if (flags.json) return printJson({ function: service, ...deployed });
  const where = deployed.endpoint ?? platformFor(fn).describe(fn);
  console.log(`${service}: ${shortVersion(deployed.version)} ${deployed.how} at ${where}`);
  console.log(`answer (${deployed.probe.status}): ${deployed.probe.body}`);
  if (!deployed.probe.ok) process.exitCode = 1;
}

interface WatchFlags extends Flags {
  stop?: boolean;
  status?: boolean;
}

async function watch(file: string, flags: WatchFlags) {
  const manifest = loadManifest(file);
  const watched = Object.keys(manifest.services).filter((s) => manifest.services[s].function);
  if (watched.length === 0) throw new UserError(`${file}: no service has a function to watch`);
  const settings = settingsFromEnv();
  const client = await connectClient(settings);
  const workflowId = functionsWatchWorkflowId(manifest.app);
  const handle = client.workflow.getHandle(workflowId);
  if (flags.stop || flags.status) {
    const status: WatchStatus = await handle.query(watchStatusQuery);
    if (flags.stop) await handle.signal(stopWatchingSignal);
    return flags.json ? printJson({ workflowId, ...status }) : printWatch(workflowId, status, flags.stop);
  }
  const everyMs = Math.min(...watched.map((s) => manifest.services[s].function!.watch_every));
  const input: WatchFunctionsInput = { spec: appSpec(manifest), everyMs };
  try {
    await client.workflow.start(workflowTypes['watch-functions'], {
      taskQueue: settings.taskQueue,
      workflowId,
      args: [input],
      typedSearchAttributes: runAttributes('watch-functions', manifest.app),
      staticSummary: `watch ${watched.join(', ')} every ${everyMs / 1000}s`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    if (!flags.json) console.error(`already watching: ${workflowId}`);
  }
  if (flags.json) return printJson({ workflowId, functions: watched, everyMs });
  console.log(`watching ${watched.join(', ')} every ${everyMs / 1000}s: ${workflowId}`);
}

function printWatch(workflowId: string, status: WatchStatus, stopped?: boolean) {
  console.log(
    table(
      ['FUNCTION', 'LIVE VERSION', 'SEEN AT', 'NEW VERSIONS', 'PROBLEM'],
      Object.entries(status.functions).map(([s, f]) => [
        s,
        f.version ? shortVersion(f.version) : '-',
        f.seenAt ?? '-',
        String(f.newVersions),
        f.problem ?? '',
      ]),
    ),
  );
  console.log(`${workflowId}: ${status.looks} looks${stopped ? '; stopping' : ''}`);
}
