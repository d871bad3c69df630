/** `lazarus drill`: a restore into a sandbox, validated, measured and torn down; now or on a schedule. */
import type { Command } from 'commander';
import { appSpec } from '../../model/app-spec';
import { UserError } from '../../model/errors';
import { loadManifest } from '../../config/load-manifest';
import { connectClient, settingsFromEnv } from '../../temporal/settings';
import type { DrillReport } from '../../workflows/drill-report';
import { sandboxFor } from '../../workflows/sandbox';
import { action, backupIdArgument, checkBackup, json, printJson } from '../command-kit';
import { drillSummary } from '../drill-summary';
import { runAtPoint } from '../point-restore';
import { writeDrillReport } from '../drill-html';
import { type ResultPrinter, execute } from '../execute';
import { editsSchedule, scheduleRun, withScheduleOptions } from '../schedules';

export function register(program: Command): void {
  withScheduleOptions(
    program
      .command('drill <manifest>')
      .description('restore a backup into a sandbox, validate it, measure RTO and RPO, and tear it down')
      .option(
        '--backup <id>',
        'drill this backup (default: the latest verified one)',
        backupIdArgument('--backup'),
      )
      .option('--report <dir>', 'also write the JSON and HTML report into this directory')
      .option(
        '--at <time|checkpoint|latest>',
        'drill the captured stores (pitr) at a point in time: replayed on scratch servers, validated, removed',
      )
      .option(
        '--nearest-checkpoint',
        'with --at <time>: the newest group checkpoint at or before it (one instant for the group), not each store to the time',
      ),
    'drill',
    '1d, 12h',
  )
    .option('--no-wait', 'print the run ID and return at once')
    .addOption(json())
    .action(action(drill));
}

interface DrillFlags {
  nearestCheckpoint?: boolean;
  at?: string;
  backup?: string;
  report?: string;
  every?: string;
  cron?: string;
  unschedule?: boolean;
  wait: boolean;
  json?: boolean;
}

async function drill(file: string, opts: DrillFlags) {
  const manifest = loadManifest(file);
  if (opts.at !== undefined) {
    const stateful = Object.keys(manifest.services).filter((s) => manifest.services[s].datastore);
    return runAtPoint(file, manifest, stateful, opts.at, 'drill', opts);
  }
  const spec = appSpec(manifest);
  const { problems } = sandboxFor(spec, 'check');
  if (problems.length > 0)
    throw new UserError(`${file}: a drill would not be safe:\n  ${problems.join('\n  ')}`);
  const input = { spec, backupId: opts.backup };
  const settings = settingsFromEnv();
  if (editsSchedule(opts)) {
    const client = await connectClient(settings);
    const outcome = await scheduleRun(
      client,
      settings.taskQueue,
      { operation: 'drill', app: spec.app, input },
      opts,
    );
    return opts.json ? printJson(outcome) : console.log(outcome.message);
  }
  await checkBackup(file, manifest, opts.backup, Object.keys(manifest.services));
  await execute(opts, { operation: 'drill', input }, printDrillReport(opts.report), { settings });
}

/** The drill's summary and where its report is; with --report, the report's files too. */
function printDrillReport(dir: string | undefined): ResultPrinter<DrillReport> {
  return async (report, { workflowId, json }) => {
    const files = dir ? await writeDrillReport(report, dir) : undefined;
    if (json) return printJson({ ...report, files });
    console.log(drillSummary(report));
    console.log(files ? `report: ${files.html}` : `report: lazarus report ${workflowId}`);
  };
}
