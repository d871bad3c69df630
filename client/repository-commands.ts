/**
 * The repository's commands: verify, forget, prune, hold and cost. verify may run here
 * or as a workflow (now, or on a schedule); the others run here, against the repository.
 */
import type { Command } from 'commander';
import { UserError } from '../model/errors';
import { loadManifest } from '../model/load-manifest';
import type { Manifest } from '../model/manifest';
import { costReport, type CostReport } from '../repository/cost';
import { type ForgetPlan, planForget } from '../repository/forget';
import { prune, type PruneReport } from '../repository/prune';
import { MissingRepositoryError } from '../repository/format';
import type { Repository } from '../repository/repository';
import type { VerifyReport } from '../repository/verify';
import { connectClient, settingsFromEnv } from '../temporal/settings';
import type { VerifyInput } from '../workflows/verify';
import {
  EXIT,
  action,
  backupIdArgument,
  json,
  manifestAndRepository,
  openRepositoryOf,
  printJson,
} from './command-kit';
import { formatBytes, progressBar, table } from './output';
import { startRun } from '../temporal/runs';
import { editsSchedule, scheduleRun, withScheduleOptions } from './schedules';

export function addRepositoryCommands(program: Command): void {
  addVerify(program);
  addForget(program);
  addPrune(program);
  addHold(program);
  addCost(program);
}

function addVerify(program: Command): void {
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

/**
 * verify cannot tell a mistyped repository.path from a repository that is gone, and the
 * second is every backup missing: exit 3, as for damage, so that monitoring turns red.
 */
function missingIsDamage(err: unknown): never {
  if (!(err instanceof MissingRepositoryError)) throw err;
  console.error(`lazarus: ${err.message}`);
  process.exit(EXIT.corrupt);
}

/** "10%" -> 0.1 */
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

/** As a workflow now, or on a schedule: undefined when only the schedule changed. */
async function verifyOnWorkers(
  input: VerifyInput,
  opts: { every?: string; cron?: string; unschedule?: boolean; json?: boolean },
): Promise<VerifyReport | undefined> {
  const settings = settingsFromEnv();
  const client = await connectClient(settings);
  if (editsSchedule(opts)) {
    const run = { kind: 'verify' as const, app: input.spec.app, input };
    const outcome = await scheduleRun(client, settings.taskQueue, run, opts);
    if (opts.json) printJson(outcome);
    else console.log(outcome.message);
    return undefined;
  }
  const run = await startRun(client, settings.taskQueue, { kind: 'verify', input });
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

function addForget(program: Command): void {
  program
    .command('forget <manifest>')
    .description("apply each tier's retention rules to the application's backups; a dry run unless --apply")
    .option('--apply', 'remove the backups the rules do not keep (their data goes at the next prune)')
    .addOption(json())
    .action(
      action(async (file: string, opts) => {
        const { manifest, repo } = await manifestAndRepository(file);
        const plan = await forgetPlan(manifest, repo);
        if (opts.apply) for (const b of plan.remove) await repo.removeBackup(manifest.app, b.id);
        if (opts.json) return printJson({ ...plan, applied: opts.apply === true });
        console.log(
          table(
            ['backup', 'taken', 'decision', 'why'],
            [
              ...plan.keep.map((b) => [b.id, b.startedAt, 'keep', b.reasons.join('; ')]),
              ...plan.remove.map((b) => [b.id, b.startedAt, opts.apply ? 'removed' : 'would remove', '']),
            ].sort((a, b) => b[1].localeCompare(a[1])),
          ),
        );
        console.log(
          opts.apply
            ? `removed ${plan.remove.length} backups; run "lazarus prune" to free their space`
            : `${plan.remove.length} of ${plan.keep.length + plan.remove.length} backups would go: add --apply to remove them`,
        );
      }),
    );
}

async function forgetPlan(manifest: Manifest, repo: Repository): Promise<ForgetPlan> {
  return planForget(await repo.listBackups(manifest.app), {
    app: manifest.app,
    serviceTiers: Object.fromEntries(Object.entries(manifest.services).map(([name, s]) => [name, s.tier])),
    tiers: manifest.tiers,
    held: new Set(Object.keys(await repo.listHolds(manifest.app))),
  });
}

function addPrune(program: Command): void {
  program
    .command('prune <manifest>')
    .description('delete the data no backup references (of any application in the repository); crash-safe')
    .option('--dry-run', 'show what would be deleted, and delete nothing')
    .addOption(json())
    .action(
      action(async (file: string, opts) => {
        const { repo } = await manifestAndRepository(file);
        const report = await prune(repo, { dryRun: opts.dryRun === true });
        await repo.close();
        if (opts.json) return printJson(report);
        console.log(pruneSummary(report));
      }),
    );
}

function pruneSummary(r: PruneReport): string {
  const verb = r.dryRun ? 'would' : '';
  return [
    `packs: ${r.packs.before} before; ${r.packs.deleted} ${verb || ''} deleted, ${r.packs.repacked} ${verb} rewritten` +
      (r.packs.recovered ? `, ${r.packs.recovered} lost from the index and indexed again` : ''),
    `bytes: ${formatBytes(r.bytes.before)} before, ${formatBytes(r.bytes.after)} after: ${formatBytes(r.bytes.freed)} ${r.dryRun ? 'to free' : 'freed'}`,
  ]
    .map((line) => line.replace(/ {2,}/g, ' '))
    .join('\n');
}

function addHold(program: Command): void {
  program
    .command('hold')
    .description('put a backup under legal hold (never forgotten, never removed), release it, or list holds')
    .argument('<manifest>', 'the application manifest')
    .argument(
      '[backup]',
      'the backup to hold or release (default: list the holds)',
      backupIdArgument('backup'),
    )
    .option('--reason <text>', 'why it is held (a case, a request)')
    .option('--by <name>', 'who placed the hold', process.env.USER ?? 'unknown')
    .option('--release', 'release the hold')
    .addOption(json())
    .action(
      action(async (file: string, backupId: string | undefined, opts) => {
        const { manifest, repo } = await manifestAndRepository(file);
        if (!backupId) {
          const holds = await repo.listHolds(manifest.app);
          if (opts.json) return printJson(holds);
          const rows = Object.entries(holds).map(([id, h]) => [id, h.reason, h.by, h.placedAt]);
          return console.log(
            rows.length ? table(['backup', 'reason', 'by', 'placed'], rows) : 'no backup is under legal hold',
          );
        }
        if (opts.release) {
          await repo.releaseHold(manifest.app, backupId);
          return opts.json
            ? printJson({ released: backupId })
            : console.log(`released the hold on ${backupId}`);
        }
        if (!opts.reason)
          throw new UserError('--reason: say why the backup is held (a case number, a request)');
        const hold = await repo.placeHold(manifest.app, backupId, { reason: opts.reason, by: opts.by });
        if (opts.json) printJson({ backup: backupId, ...hold });
        else console.log(`${backupId} is under legal hold: ${hold.reason}`);
      }),
    );
}

function addCost(program: Command): void {
  program
    .command('cost <manifest>')
    .description(
      'logical and stored bytes, dedup and compression ratios, per service and backup, and a monthly estimate',
    )
    .option(
      '--per-gb-month <price>',
      "price of a GB stored for a month (default: the manifest's cost, else 0.023)",
      Number,
    )
    .option(
      '--per-gb-transfer <price>',
      "price of a GB transferred (default: the manifest's cost, else 0.09)",
      Number,
    )
    .addOption(json())
    .action(
      action(async (file: string, opts) => {
        const manifest = loadManifest(file);
        const prices = {
          perGbMonth: price(opts.perGbMonth, '--per-gb-month') ?? manifest.cost.perGbMonth,
          perGbTransfer: price(opts.perGbTransfer, '--per-gb-transfer') ?? manifest.cost.perGbTransfer,
        };
        const repo = await openRepositoryOf(file, manifest.repository);
        const report = await costReport(repo, manifest.app, prices);
        await repo.close();
        if (opts.json) return printJson(report);
        console.log(costSummary(report));
      }),
    );
}

function price(value: number | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!(value >= 0)) throw new UserError(`${flag}: write a price such as 0.023`);
  return value;
}

function costSummary(r: CostReport): string {
  const usageRow = (name: string, u: { logicalBytes: number; uniqueBytes: number; storedBytes: number }) => [
    name,
    formatBytes(u.logicalBytes),
    formatBytes(u.uniqueBytes),
    formatBytes(u.storedBytes),
  ];
  const m = r.month;
  return [
    table(
      ['service', 'logical', 'new chunks', 'stored'],
      Object.entries(r.services).map(([n, u]) => usageRow(n, u)),
    ),
    '',
    table(
      ['backup', 'logical', 'new chunks', 'stored'],
      r.backups.map((b) => usageRow(b.id, b)),
    ),
    '',
    `repository: ${formatBytes(r.repository.logicalBytes)} of snapshots kept in ${formatBytes(r.repository.packBytes)}: ` +
      `dedup ${r.repository.dedupRatio}x, compression ${r.repository.compressionRatio}x`,
    `monthly estimate: $${m.total.toFixed(2)} (storage $${m.storage.toFixed(2)} at $${m.prices.perGbMonth}/GB-month, ` +
      `transfer $${m.transfer.toFixed(2)} for ${formatBytes(m.uploadedBytes + m.drillReadBytes)} at $${m.prices.perGbTransfer}/GB)`,
  ].join('\n');
}
