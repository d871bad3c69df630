/** `lazarus restore`: the application, or some services, in dependency order; approved before it writes. */
import type { Command } from 'commander';
import { appSpec } from '../../model/app-spec';
import { parseDuration } from '../../model/duration';
import { UserError } from '../../model/errors';
import { loadManifest, manifestDir } from '../../config/load-manifest';
import { selectRestore } from '../../model/restore-selection';
import type { RestoreInput } from '../../workflows/types';
import {
  action,
  backupIdArgument,
  checkBackup,
  concurrency,
  json,
  runOptions,
  serviceList,
} from '../command-kit';
import { execute, printRunResult } from '../execute';
import { runAtPoint } from '../point-restore';
import type { Manifest } from '../../model/manifest';
import { announceWhenWaiting, approvalNotice, parseTargets, restoreWrites } from '../restore-input';

export function register(program: Command): void {
  program
    .command('restore <manifest>')
    .description('restore the application (or some services) in dependency order')
    .option(
      '--backup <id>',
      'backup to restore (default: the latest verified one)',
      backupIdArgument('--backup'),
    )
    .option(
      '--services <names>',
      'comma-separated services to restore (default: all); others are not touched',
    )
    .option('--with-dependencies', 'also restore what the chosen services depend on')
    .option(
      '--target <service=target...>',
      'restore a service beside the original: another path (relative to the manifest), database or index',
    )
    .option(
      '--replace-target',
      'replace a --target that already holds data (without it, such a restore is refused)',
    )
    .option(
      '--at <time|checkpoint|latest>',
      'captured stores (pitr) to a point in time: an ISO time, a group checkpoint, or latest; needs --yes',
    )
    .option(
      '--nearest-checkpoint',
      'with --at <time>: the newest group checkpoint at or before it (one instant for the group), not each store to the time',
    )
    .option('-y, --yes', 'restore without waiting for `lazarus approve`')
    .option('--approval-timeout <duration>', 'how long to wait for approval before stopping unchanged', '1h')
    .addOption(concurrency())
    .option('--no-wait', 'print the run ID and return at once')
    .addOption(json())
    .action(action(restore));
}

async function restore(file: string, opts: RestoreFlags) {
  const manifest = loadManifest(file);
  const spec = appSpec(manifest);
  const services = serviceList('--services', opts.services, Object.keys(manifest.services));
  const withDependencies = Boolean(opts.withDependencies);
  const selection = selectRestore(manifest.services, { services, withDependencies });
  if (opts.at !== undefined) return restoreAt(file, manifest, selection.services, opts);
  const targets = parseTargets(opts.target ?? [], spec, manifestDir(file), selection.services);
  await checkBackup(file, manifest, opts.backup, selection.services);
  const approvalTimeout = parseDuration(opts.approvalTimeout);
  if (!approvalTimeout)
    throw new UserError(
      `--approval-timeout ${opts.approvalTimeout}: write a duration such as 30s, 10m or 1h`,
    );
  const input: RestoreInput = {
    spec,
    backupId: opts.backup,
    services,
    withDependencies,
    targets,
    replaceTargets: Boolean(opts.replaceTarget),
    options: runOptions(opts),
    approved: Boolean(opts.yes),
    approvalTimeoutSeconds: Math.ceil(approvalTimeout / 1000),
  };
  const writes = restoreWrites(selection, targets);
  await execute(opts, { operation: 'restore', input }, printRunResult, {
    onStarted: (run, client) => {
      if (opts.yes || writes.length === 0) return;
      const notice = approvalNotice(run.workflowId, writes, opts.approvalTimeout);
      // Returning at once, this command cannot see the wait begin: say it now.
      if (!opts.wait) console.error(notice);
      else void announceWhenWaiting(client, run.workflowId, run.result, notice);
    },
  });
}

/** A restore to a point in time writes production stores: only with --yes, and without --backup or --target. */
async function restoreAt(file: string, manifest: Manifest, services: string[], opts: RestoreFlags) {
  if (opts.backup || opts.target)
    throw new UserError('--at picks its own base and log: leave out --backup and --target');
  if (!opts.yes)
    throw new UserError(
      `restore --at ${opts.at} replaces the live data of ${services.join(', ')}: pass --yes to approve it, or try it first with \`lazarus drill ${file} --at ${opts.at}\``,
    );
  await runAtPoint(file, manifest, services, opts.at!, 'in-place', opts);
}

interface RestoreFlags {
  nearestCheckpoint?: boolean;
  at?: string;
  backup?: string;
  services?: string;
  withDependencies?: boolean;
  target?: string[];
  replaceTarget?: boolean;
  yes?: boolean;
  approvalTimeout: string;
  concurrency?: number;
  wait: boolean;
  json?: boolean;
}
