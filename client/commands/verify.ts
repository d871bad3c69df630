/** `lazarus verify`: the repository's structure and data checked, here or as a workflow (now, or on a schedule). */
import type { Command } from 'commander';
import { UserError } from '../../model/errors';
import { loadManifest } from '../../config/load-manifest';
import { MissingRepositoryError } from '../../repository/engine/format';
import type { VerifyReport } from '../../repository/maintenance/verify';
import { connectClient, settingsFromEnv } from '../../temporal/settings';
import type { VerifyInput } from '../../workflows/verify';
import { EXIT, action, json, openRepositoryOf, printJson } from '../command-kit';
import { formatBytes, progressBar } from '../output';
import { startRun } from '../../temporal/runs';
import { editsSchedule, scheduleRun, withScheduleOptions } from '../schedules';

export function register(program: Command): void {
  withScheduleOptions(
    program
      .command('verify <manifest>')
      .description(
        'check the repository: its structure, and with --read-data its content; exit 3 if anything is damaged or missing',
      )
      .option('--read-data', 'also read every pack, decrypt it and re-hash every chunk')
      .option(
        '--subset <share>',
        'with --read-data: read only this share of the packs, chosen at random (e.g. 10%)',
      )
      .option('--on-worker', 'run as a durable workflow on the workers (shown in the Temporal UI)'),
    'verify',
    '1w',
  )
    .addOption(json())
    .action(
      action(async (file: string, opts) => {
        const manifest = loadManifest(file);
        const input: VerifyInput = {
          spec: { app: manifest.app, repository: manifest.repository },
          readData: opts.readData === true || opts.subset !== undefined,
          subset: opts.subset === undefined ? undefined : parseShare(opts.subset),
        };
        const report = await (
          editsSchedule(opts) || opts.onWorker
            ? verifyOnWorkers(input, opts)
            : verifyHere(file, input, opts.json !== true)
        ).catch(missingIsDamage);
        if (!report) return;
        if (opts.json) printJson(report);
        else printVerifyReport(report);
        if (report.problems.length > 0) process.exitCode = EXIT.corrupt;
      }),
    );
}

function missingIsDamage(err: unknown): never {
  if (!(err instanceof MissingRepositoryError)) throw err;
  console.error(`lazarus: ${err.message}`);
  process.exit(EXIT.corrupt);
}

function parseShare(text: string): number {
  const match = /^(\d+(?:\.\d+)?)%$/.exec(text.trim());
  const share = match ? Number(match[1]) / 100 : NaN;
  if (!(share > 0 && share <= 1))
    throw new UserError(`--subset ${text}: write a share of the packs such as 10% or 2.5%`);
  return share;
}

async function verifyHere(file: string, input: VerifyInput, showBar: boolean): Promise<VerifyReport> {
  const repo = await openRepositoryOf(file, input.spec.repository);
  const bar = showBar && input.readData && process.stderr.isTTY ? progressBar('packs') : undefined;
  try {
    return await repo.verify({
      readData: input.readData,
      subset: input.subset,
      onProgress: (done, total) => (done === 1 ? bar?.start(total, done) : bar?.update(done)),
    });
  } finally {
    bar?.stop();
    await repo.close();
  }
}

async function verifyOnWorkers(
  input: VerifyInput,
  opts: { every?: string; cron?: string; unschedule?: boolean; json?: boolean },
): Promise<VerifyReport | undefined> {
  const settings = settingsFromEnv();
  const client = await connectClient(settings);
  if (editsSchedule(opts)) {
    const run = { operation: 'verify' as const, app: input.spec.app, input };
    const outcome = await scheduleRun(client, settings.taskQueue, run, opts);
    if (opts.json) printJson(outcome);
    else console.log(outcome.message);
    return undefined;
  }
  const run = await startRun(client, settings.taskQueue, { operation: 'verify', input });
  if (!opts.json) console.error(`verify started: ${run.workflowId}`);
  return (await run.result) as unknown as VerifyReport;
}

function printVerifyReport(report: VerifyReport): void {
  console.log(
    `Checked ${report.snapshots} snapshots of ${report.backups} backups in ${report.packs} packs` +
      (report.packsRead
        ? `; read and re-hashed ${report.packsRead} packs (${formatBytes(report.bytesRead)})`
        : '') +
      '.',
  );
  if (report.unindexedPacks > 0) {
    console.log(
      `${report.unindexedPacks} packs are in no index (left by an interrupted backup): prune removes them.`,
    );
  }
  for (const p of report.problems) {
    console.log(`DAMAGED ${p.subject}: ${p.problem}`);
    for (const a of p.affects) console.log(`  affects backup ${a.app}/${a.backupId}, service ${a.service}`);
  }
  if (report.problems.length === 0) console.log('No problems found.');
}
