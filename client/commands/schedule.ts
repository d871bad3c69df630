/** `lazarus schedule apply|list|pause|resume|trigger|backfill`: the tiers' schedules on the server. */
import { Command, Option } from 'commander';
import type { Client, ScheduleDescription } from '@temporalio/client';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { describeWorkflow } from '../../temporal/lookups';
import { UserError } from '../../model/errors';
import { parseDuration } from '../../model/duration';
import { loadManifest } from '../../config/load-manifest';
import type { Manifest } from '../../model/manifest';
import { connectClient, settingsFromEnv } from '../../temporal/settings';
import { action, json, printJson } from '../command-kit';
import { table } from '../output';
import { adaptiveWorkflowId } from '../../contracts/ids';
import { applySchedules, existingTierSchedules, formatInterval } from '../tier-schedules';

export function register(program: Command): void {
  const schedule = program
    .command('schedule')
    .description("keep the tiers' backup and drill schedules on the Temporal server in line with a manifest");
  addApply(schedule);
  addList(schedule);
  addStateChange(schedule, 'pause', 'pause the schedules: no run starts until resumed');
  addStateChange(schedule, 'resume', 'resume paused schedules (also those paused after a failed run)');
  addTrigger(schedule);
  addBackfill(schedule);
}

function addApply(schedule: Command): void {
  schedule
    .command('apply <manifest>')
    .description(
      'create or update a schedule per tier (and the adaptive scheduler); remove those whose tier is gone. Applying twice changes nothing',
    )
    .option(
      '--check-every <duration>',
      'how often the adaptive scheduler looks at change rates (default: the smallest min bound)',
    )
    .addOption(json())
    .action(
      action(async (file: string, opts: { checkEvery?: string; json?: boolean }) => {
        const manifest = loadManifest(file);
        const checkEveryMs =
          opts.checkEvery === undefined ? undefined : durationFlag('--check-every', opts.checkEvery);
        const { client, taskQueue } = await connect();
        const applied = await applySchedules(client, taskQueue, manifest, { checkEveryMs });
        if (opts.json) return printJson(applied);
        console.log(
          table(
            ['schedule', 'change', 'what'],
            applied.map((a) => [a.id, a.change, a.detail]),
          ),
        );
      }),
    );
}

function addList(schedule: Command): void {
  schedule
    .command('list <manifest>')
    .description(
      "show the application's schedules: cadence, state, next run times, and the last change's reason",
    )
    .addOption(json())
    .action(
      action(async (file: string, opts: { json?: boolean }) => {
        const manifest = loadManifest(file);
        const { client } = await connect();
        const rows = (await existingTierSchedules(client, manifest)).map(({ id, description }) =>
          listing(id, description),
        );
        if (opts.json) return printJson(rows);
        if (rows.length === 0)
          return console.log(`no schedules for ${manifest.app}: run "lazarus schedule apply"`);
        console.log(
          table(
            ['schedule', 'when', 'state', 'next runs', 'note'],
            rows.map((r) => [
              r.id,
              r.when,
              r.paused ? 'paused' : 'active',
              r.nextRuns.slice(0, 2).join(', '),
              r.note ?? '',
            ]),
          ),
        );
        const adaptive = await adaptiveStatus(client, manifest.app);
        if (adaptive) console.log(adaptive);
      }),
    );
}

/** One line on the adaptive scheduler, when the application has one. */
async function adaptiveStatus(client: Client, app: string): Promise<string | undefined> {
  const id = adaptiveWorkflowId(app);
  const description = await describeWorkflow(client.workflow.getHandle(id));
  if (!description) return undefined;
  const last = description.memo?.lastChange;
  return `adaptive scheduler ${id}: ${description.status.name.toLowerCase()}${last ? `; last change ${String(last)}` : ''}`;
}

function listing(id: string, description: ScheduleDescription) {
  const interval = description.spec.intervals?.[0]?.every;
  // A cron expression comes back as calendar specs: show it as the manifest wrote it.
  const asWritten =
    description.action.type === 'startWorkflow' ? description.action.memo?.cadence : undefined;
  return {
    id,
    when:
      interval !== undefined ? `every ${formatInterval(Number(interval))}` : String(asWritten ?? 'calendar'),
    everyMs: interval === undefined ? undefined : Number(interval),
    paused: description.state.paused,
    note: description.state.note || undefined,
    nextRuns: description.info.nextActionTimes.map((t) => t.toISOString()),
    recentRuns: description.info.recentActions.map((a) => ({
      at: a.takenAt.toISOString(),
      workflowId: a.action.workflow.workflowId,
    })),
  };
}

const selection = (command: Command) =>
  command
    .option('--tier <tier>', 'only this tier')
    .addOption(new Option('--kind <kind>', 'only this kind of run').choices(['backup', 'drill']));

async function selectedSchedules(client: Client, manifest: Manifest, opts: { tier?: string; kind?: string }) {
  const app = manifest.app;
  if (opts.tier && !Object.hasOwn(manifest.tiers, opts.tier))
    throw new UserError(
      `--tier ${opts.tier}: ${app} has no such tier; its tiers: ${Object.keys(manifest.tiers).join(', ')}`,
    );
  const chosen = (await existingTierSchedules(client, manifest)).filter(({ id }) => {
    const [kind, , tier] = id.split('/');
    return (!opts.tier || tier === opts.tier) && (!opts.kind || kind === opts.kind);
  });
  if (chosen.length === 0)
    throw new UserError(
      `no schedule of ${app} matches: run "lazarus schedule apply", or check --tier and --kind`,
    );
  return chosen;
}

function addStateChange(schedule: Command, verb: 'pause' | 'resume', description: string): void {
  selection(schedule.command(`${verb} <manifest>`).description(description))
    .option('--reason <text>', 'a note shown with the schedule', `${verb}d with lazarus`)
    .addOption(json())
    .action(
      action(async (file: string, opts: { tier?: string; kind?: string; reason: string; json?: boolean }) => {
        const { client } = await connect();
        const chosen = await selectedSchedules(client, loadManifest(file), opts);
        for (const { handle } of chosen)
          await (verb === 'pause' ? handle.pause(opts.reason) : handle.unpause(opts.reason));
        const ids = chosen.map((c) => c.id);
        if (opts.json) printJson({ [verb === 'pause' ? 'paused' : 'resumed']: ids });
        else console.log(`${verb === 'pause' ? 'paused' : 'resumed'}: ${ids.join(', ')}`);
      }),
    );
}

function addTrigger(schedule: Command): void {
  selection(
    schedule
      .command('trigger <manifest>')
      .description('start a run of the schedules now, outside their cadence'),
  )
    .addOption(json())
    .action(
      action(async (file: string, opts: { tier?: string; kind?: string; json?: boolean }) => {
        const { client } = await connect();
        const chosen = await selectedSchedules(client, loadManifest(file), opts);
        for (const { handle } of chosen) await handle.trigger(ScheduleOverlapPolicy.ALLOW_ALL);
        const ids = chosen.map((c) => c.id);
        if (opts.json) printJson({ triggered: ids });
        else console.log(`triggered: ${ids.join(', ')}`);
      }),
    );
}

function addBackfill(schedule: Command): void {
  selection(
    schedule
      .command('backfill <manifest>')
      .description(
        'run now, one after another, every action the schedules would have taken between two times',
      ),
  )
    .requiredOption('--from <time>', 'start, an ISO time (2026-11-21T00:00:00Z)')
    .requiredOption('--to <time>', 'end, an ISO time')
    .addOption(json())
    .action(
      action(
        async (
          file: string,
          opts: { tier?: string; kind?: string; from: string; to: string; json?: boolean },
        ) => {
          const start = timeFlag('--from', opts.from);
          const end = timeFlag('--to', opts.to);
          if (end <= start) throw new UserError('--to must be later than --from');
          const { client } = await connect();
          const chosen = await selectedSchedules(client, loadManifest(file), opts);
          for (const { handle } of chosen)
            await handle.backfill({ start, end, overlap: ScheduleOverlapPolicy.BUFFER_ALL });
          const ids = chosen.map((c) => c.id);
          if (opts.json) printJson({ backfilled: ids, from: start.toISOString(), to: end.toISOString() });
          else console.log(`backfilled ${start.toISOString()} .. ${end.toISOString()}: ${ids.join(', ')}`);
        },
      ),
    );
}

async function connect() {
  const settings = settingsFromEnv();
  return { client: await connectClient(settings), taskQueue: settings.taskQueue };
}

function durationFlag(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (!ms) throw new UserError(`${flag} ${text}: write a duration such as 30s, 5m or 1h`);
  return ms;
}

function timeFlag(flag: string, text: string): Date {
  const time = new Date(text);
  if (Number.isNaN(time.getTime()))
    throw new UserError(`${flag} ${text}: write an ISO time such as 2026-11-21T00:00:00Z`);
  return time;
}
