#!/usr/bin/env node
/**
 * The lazarus command. Exit codes: 0 success, 1 a run failed or was partial,
 * 2 bad input (nothing was started), 3 verify found damaged or missing data,
 * 4 the repository is locked by another operation (a prune, or a backup for prune).
 */
import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import {
  EXIT,
  action,
  backupIdArgument,
  json,
  manifestAndRepository,
  openRepositoryOf,
  printJson,
  serviceList,
} from './command-kit';
import { addRepositoryCommands } from './repository-commands';
import { addScheduleCommands } from './schedule-commands';
import { addDiscoverCommand } from './discover-command';
import { addReplayCommand } from './replay-command';
import { loadManifest, manifestDir } from '../model/load-manifest';
import type { Manifest } from '../model/manifest';
import { restoreLayers, restoreSelection } from '../model/graph';
import { UserError } from '../model/errors';
import { isS3Location } from '../repository/location';
import { MissingRepositoryError } from '../repository/format';
import { connectClient, settingsFromEnv } from '../temporal/settings';
import { appSpec } from '../model/app-spec';
import { progressQuery } from '../workflows/run-state';
import { approveSignal, rejectSignal } from '../workflows/approval';
import { parseDuration } from '../model/duration';
import { sandboxFor } from '../workflows/sandbox';
import type { DrillReport } from '../workflows/drill-report';
import { writeDrillReport } from './drill-html';
import { drillSummary } from './drill-commands';
import { editsSchedule, scheduleRun, withScheduleOptions } from './schedules';
import { followRun } from './run-workflow';
import { type RunHandle, startRun } from '../temporal/runs';
import { workflowTypes } from '../contracts/operations';
import { announceWhenWaiting, approvalNotice, parseTargets, restoreWrites } from './restore-input';
import type { Client } from '@temporalio/client';
import { formatBytes, formatDuration, runTable, table } from './output';
import type { RunOptions, RunResult } from '../workflows/types';
import { outcomeKey } from '../contracts/search-attributes';
import { DEFAULT_STALL_TIMEOUT_MS } from '../repository/streams';

const program = new Command('lazarus')
  .description('Back up, restore and drill whole applications as durable Temporal workflows.')
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(text) })
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT.usage));

const concurrency = () => new Option('--concurrency <n>', 'services run at once').argParser(positiveInt);

program
  .command('dev')
  .description('start a local Temporal dev server (SQLite file, Web UI) and a worker')
  .option('--state-dir <dir>', 'where the server keeps its database', '.lazarus/dev')
  .option('--port <port>', 'gRPC port of the server', positiveInt, 7233)
  .option('--ui-port <port>', 'port of the Web UI', positiveInt, 8233)
  .action(action(async (opts) => (await import('./serve')).runDev(opts)));

program
  .command('worker')
  .description('run a worker against TEMPORAL_ADDRESS (default 127.0.0.1:7233)')
  .option('--rate-limit <bytes>', 'bytes per second per snapshot or restore stream', positiveInt)
  .option('--max-activities <n>', 'snapshot and restore steps run at once by this worker', positiveInt, 8)
  .option(
    '--stall-timeout <seconds>',
    'fail a step whose datastore or repository sends nothing for this long (then retried)',
    positiveInt,
    DEFAULT_STALL_TIMEOUT_MS / 1000,
  )
  .action(
    action(async (opts) =>
      (await import('./serve')).runWorker({
        rateLimit: opts.rateLimit,
        maxConcurrentActivities: opts.maxActivities,
        stallTimeoutMs: opts.stallTimeout * 1000,
      }),
    ),
  );

program
  .command('plan <manifest>')
  .description('print the restore order as layers: the services of a layer can run in parallel')
  .addOption(json())
  .action(
    action((file: string, opts) => {
      const manifest = loadManifest(file);
      const layers = restoreLayers(manifest.services);
      if (opts.json)
        return printJson({
          app: manifest.app,
          services: Object.keys(manifest.services).length,
          layers,
          unprotected: Object.keys(manifest.services).filter((s) => manifest.services[s].unprotected),
        });
      console.log(`Restore order of ${manifest.app} (${Object.keys(manifest.services).length} services):`);
      layers.forEach((layer, i) => console.log(`  ${i + 1}. ${layer.join(', ')}`));
      for (const [name, service] of Object.entries(manifest.services))
        if (service.unprotected)
          console.log(
            `  not protected: ${name} keeps state in ${service.unprotected.engine}, which Lazarus cannot back up yet`,
          );
    }),
  );

program
  .command('backup <manifest>')
  .description('snapshot every datastore of the application and record one catalog entry')
  .addOption(concurrency())
  .option('--no-wait', 'print the run ID and return at once')
  .addOption(json())
  .action(
    action(async (file: string, opts) => {
      const spec = appSpec(loadManifest(file));
      await execute(opts, { kind: 'backup', input: { spec, options: runOptions(opts) } });
    }),
  );

program
  .command('restore <manifest>')
  .description('restore the application (or some services) in dependency order')
  .option(
    '--backup <id>',
    'backup to restore (default: the latest verified one)',
    backupIdArgument('--backup'),
  )
  .option('--services <names>', 'comma-separated services to restore (default: all); others are not touched')
  .option('--with-dependencies', 'also restore what the chosen services depend on')
  .option(
    '--target <service=target...>',
    'restore a service beside the original: another path (relative to the manifest), database or index',
  )
  .option(
    '--replace-target',
    'replace a --target that already holds data (without it, such a restore is refused)',
  )
  .option('-y, --yes', 'restore without waiting for `lazarus approve`')
  .option('--approval-timeout <duration>', 'how long to wait for approval before stopping unchanged', '1h')
  .addOption(concurrency())
  .option('--no-wait', 'print the run ID and return at once')
  .addOption(json())
  .action(
    action(async (file: string, opts) => {
      const manifest = loadManifest(file);
      const spec = appSpec(manifest);
      const services = serviceList('--services', opts.services, Object.keys(manifest.services));
      const selected = restoreSelection(manifest.services, services, Boolean(opts.withDependencies));
      const targets = parseTargets(opts.target ?? [], spec, manifestDir(file), selected);
      await checkBackup(file, manifest, opts.backup, selected);
      const approvalTimeout = parseDuration(opts.approvalTimeout);
      if (!approvalTimeout)
        throw new UserError(
          `--approval-timeout ${opts.approvalTimeout}: write a duration such as 30s, 10m or 1h`,
        );
      const input = {
        spec,
        backupId: opts.backup,
        services,
        withDependencies: Boolean(opts.withDependencies),
        targets,
        replaceTargets: Boolean(opts.replaceTarget),
        options: runOptions(opts),
        approved: Boolean(opts.yes),
        approvalTimeoutSeconds: Math.ceil(approvalTimeout / 1000),
      };
      const writes = restoreWrites(spec, selected, targets);
      await execute(opts, { kind: 'restore', input }, (run, client) => {
        if (opts.yes || writes.length === 0) return;
        const notice = approvalNotice(run.workflowId, writes, opts.approvalTimeout);
        // Returning at once, this command cannot see the wait begin: say it now.
        if (!opts.wait) console.error(notice);
        else void announceWhenWaiting(client, run.workflowId, run.result, notice);
      });
    }),
  );

/**
 * The worker resolves the backup too; checking here first turns a typo (in the ID, or in
 * repository.path) into exit 2, not a failed run.
 */
async function checkBackup(
  file: string,
  manifest: Manifest,
  backupId: string | undefined,
  selected: string[],
) {
  // A local path this machine lacks may be mounted on the workers only: they check it then.
  if (!isS3Location(manifest.repository.location) && !existsSync(manifest.repository.location)) return;
  // This shell may not hold the repository's password, or reach it: the worker checks then.
  const repo = await openRepositoryOf(file, manifest.repository).catch((err: unknown) => {
    if (err instanceof MissingRepositoryError) throw err;
    return undefined;
  });
  const stateful = selected.filter((s) => manifest.services[s].datastore);
  await repo?.findBackup(manifest.app, backupId, stateful);
}

for (const decision of ['approve', 'reject'] as const) {
  program
    .command(`${decision} <workflowId>`)
    .description(`${decision} a restore that waits to overwrite the original targets`)
    .option('--by <name>', 'who decided, for the record', process.env.USER)
    .option('--reason <text>', 'why (recorded with a rejection)')
    .action(
      action(async (workflowId: string, opts) => {
        const client = await connectClient(settingsFromEnv());
        const handle = client.workflow.getHandle(workflowId);
        const progress = await handle.query(progressQuery).catch(() => {
          throw new UserError(`no running restore with ID "${workflowId}"`);
        });
        if (!progress.awaitingApproval) throw new UserError(`${workflowId} is not waiting for approval`);
        await handle.signal(decision === 'approve' ? approveSignal : rejectSignal, {
          by: opts.by,
          reason: opts.reason,
        });
        console.log(`${decision === 'approve' ? 'approved' : 'rejected'}: ${workflowId}`);
      }),
    );
}

withScheduleOptions(
  program
    .command('drill <manifest>')
    .description('restore a backup into a sandbox, validate it, measure RTO and RPO, and tear it down')
    .option(
      '--backup <id>',
      'drill this backup (default: the latest verified one)',
      backupIdArgument('--backup'),
    )
    .option('--report <dir>', 'also write the JSON and HTML report into this directory'),
  'drill',
  '1d, 12h',
)
  .option('--no-wait', 'print the run ID and return at once')
  .addOption(json())
  .action(
    action(async (file: string, opts) => {
      const manifest = loadManifest(file);
      const spec = appSpec(manifest);
      const { problems } = sandboxFor(spec, 'check');
      if (problems.length > 0)
        throw new UserError(`${file}: a drill would not be safe:\n  ${problems.join('\n  ')}`);
      const settings = settingsFromEnv();
      if (editsSchedule(opts)) {
        const client = await connectClient(settings);
        const input = { spec, backupId: opts.backup };
        const outcome = await scheduleRun(
          client,
          settings.taskQueue,
          { kind: 'drill', app: spec.app, input },
          opts,
        );
        return opts.json ? printJson(outcome) : console.log(outcome.message);
      }
      await checkBackup(file, manifest, opts.backup, Object.keys(manifest.services));
      const client = await connectClient(settings);
      const run = await startRun(client, settings.taskQueue, {
        kind: 'drill',
        input: { spec, backupId: opts.backup },
      });
      if (!opts.wait)
        return opts.json ? printJson({ workflowId: run.workflowId }) : console.log(run.workflowId);
      if (!opts.json) console.error(`drill started: ${run.workflowId}`);
      const report = (await followRun(
        client,
        run,
        !opts.json && process.stderr.isTTY === true,
      )) as unknown as DrillReport;
      const files = opts.report ? await writeDrillReport(report, opts.report) : undefined;
      if (opts.json) printJson({ ...report, files });
      else {
        console.log(drillSummary(report));
        console.log(files ? `report: ${files.html}` : `report: lazarus report ${run.workflowId}`);
      }
      if (report.outcome !== 'succeeded') process.exitCode = EXIT.runFailed;
    }),
  );

program
  .command('report <workflowId>')
  .description("write a drill's report as JSON and as an HTML page")
  .option('--out <dir>', 'directory to write into', '.')
  .option('--manifest <file>', "read it from this application's repository (when the run's history is gone)")
  .addOption(json())
  .action(
    action(async (workflowId: string, opts) => {
      const report = opts.manifest
        ? await reportFromRepository(opts.manifest, workflowId)
        : await reportFromRun(workflowId);
      if (opts.json) return printJson(report);
      const files = await writeDrillReport(report, opts.out);
      console.log(`${files.html}\n${files.json}`);
    }),
  );

async function reportFromRun(workflowId: string): Promise<DrillReport> {
  const client = await connectClient(settingsFromEnv());
  const result = await client.workflow
    .getHandle(workflowId)
    .result()
    .catch((err: Error) => {
      throw new UserError(
        `no finished drill with ID "${workflowId}" (${err.message}); a drill's report is also kept in ` +
          'its repository: add --manifest <file>',
      );
    });
  const report = result as DrillReport;
  if (report?.kind !== 'drill')
    throw new UserError(`${workflowId} is not a drill; reports are written for drills`);
  return report;
}

async function reportFromRepository(file: string, workflowId: string): Promise<DrillReport> {
  const { manifest, repo } = await manifestAndRepository(file);
  const report = await repo.findDrillReport<DrillReport>(manifest.app, workflowId);
  if (!report) throw new UserError(`no report of drill "${workflowId}" in ${manifest.repository.location}`);
  return report;
}

program
  .command('backups <manifest>')
  .description("list the application's backups in the repository")
  .addOption(json())
  .action(
    action(async (file: string, opts) => {
      const { manifest, repo } = await manifestAndRepository(file);
      const entries = await repo.listBackups(manifest.app);
      if (opts.json) return printJson(entries);
      const rows = entries.map((e) => [
        e.id,
        e.status,
        String(Object.keys(e.services).length),
        formatBytes(Object.values(e.services).reduce((n, s) => n + s.snapshot.size, 0)),
        e.workflowId,
      ]);
      console.log(table(['backup', 'status', 'services', 'size', 'run'], rows));
    }),
  );

program
  .command('runs')
  .description('list recent runs')
  .option('--app <name>', 'only this application')
  .addOption(new Option('--kind <kind>', 'only this kind of run').choices(Object.keys(workflowTypes)))
  .option('--failed', 'only runs that failed, were partial or rejected, or did not complete')
  .option('--limit <n>', 'at most this many', positiveInt, 20)
  .addOption(json())
  .action(
    action(async (opts) => {
      const settings = settingsFromEnv();
      const client = await connectClient(settings);
      // The same search attributes the Web UI filters on.
      const filters = [
        opts.app && `LazarusApp = "${opts.app}"`,
        opts.kind && `LazarusKind = "${opts.kind}"`,
        opts.failed &&
          '(LazarusOutcome IN ("failed", "partial", "rejected") OR ExecutionStatus IN ("Failed", "TimedOut", "Terminated", "Canceled"))',
      ].filter(Boolean);
      const query = filters.length > 0 ? filters.join(' AND ') : 'LazarusApp IS NOT NULL';
      const rows: { workflowId: string; status: string; outcome: string; start: string; type: string }[] = [];
      for await (const wf of client.workflow.list({ query })) {
        rows.push({
          workflowId: wf.workflowId,
          status: wf.status.name,
          outcome: String(wf.typedSearchAttributes.get(outcomeKey) ?? ''),
          start: wf.startTime.toISOString(),
          type: wf.type,
        });
        if (rows.length >= opts.limit) break;
      }
      if (opts.json) return printJson(rows);
      console.log(
        table(
          ['run', 'type', 'status', 'outcome', 'started'],
          rows.map((r) => [r.workflowId, r.type, r.status, r.outcome, r.start]),
        ),
      );
    }),
  );

program
  .command('show <workflowId>')
  .description("show a run's outcome per service (or its live progress)")
  .addOption(json())
  .action(
    action(async (workflowId: string, opts) => {
      const client = await connectClient(settingsFromEnv());
      const handle = client.workflow.getHandle(workflowId);
      const description = await handle.describe().catch(() => {
        throw new UserError(`no run with ID "${workflowId}"`);
      });
      const running = description.status.name === 'RUNNING';
      const result = running
        ? await handle.query(progressQuery)
        : await handle.result().catch((e: Error) => e);
      if (opts.json)
        return printJson({
          workflowId,
          status: description.status.name,
          result: result instanceof Error ? result.message : result,
        });
      console.log(`${workflowId}: ${description.status.name}`);
      if (result instanceof Error) return console.log(result.message);
      const report = result as DrillReport;
      console.log(report.kind === 'drill' && !running ? drillSummary(report) : runTable(result as RunResult));
    }),
  );

addRepositoryCommands(program);
addScheduleCommands(program);
addDiscoverCommand(program);
addReplayCommand(program);

program
  .command('demo')
  .description('run the shop example end to end: seed, back up, verify, break, restore, compare')
  .option('--with-servers', 'add the PostgreSQL, MariaDB and Redis services (needs those servers locally)')
  .option('--keep-open', 'keep the dev server and Web UI running at the end')
  .action(
    action(async (opts) =>
      (await import('./demo')).runDemo({
        withServers: Boolean(opts.withServers),
        keepOpen: Boolean(opts.keepOpen),
      }),
    ),
  );

async function execute(
  opts: { wait: boolean; json?: boolean },
  request: Parameters<typeof startRun>[2],
  onStarted?: (run: RunHandle, client: Client) => void,
) {
  const settings = settingsFromEnv();
  const client = await connectClient(settings);
  const run = await startRun(client, settings.taskQueue, request);
  onStarted?.(run, client);
  if (!opts.wait) return opts.json ? printJson({ workflowId: run.workflowId }) : console.log(run.workflowId);
  if (!opts.json) console.error(`${request.kind} started: ${run.workflowId}`);
  const result = await followRun(client, run, !opts.json && process.stderr.isTTY === true);
  if (opts.json) printJson({ workflowId: run.workflowId, ...result });
  else {
    console.log(runTable(result));
    console.log(
      `${request.kind} ${result.backupId}: ${result.outcome} in ${formatDuration(result.durationMs)}`,
    );
  }
  if (result.outcome !== 'succeeded') process.exitCode = EXIT.runFailed;
}

function runOptions(opts: { concurrency?: number }): RunOptions {
  return opts.concurrency ? { concurrency: opts.concurrency } : {};
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UserError(`"${value}" is not a positive whole number`);
  return n;
}

program.parseAsync(process.argv).catch((err: Error) => {
  console.error(`lazarus: ${err.message}`);
  process.exit(EXIT.usage);
});
