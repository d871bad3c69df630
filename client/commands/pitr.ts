/**
 * `lazarus pitr start|status|stop`: continuous capture of the stores whose service or tier
 * sets `pitr`. Start checks each source's settings first and starts nothing while any is
 * missing; status shows each stream's restorable window, its gaps and the RPO measured now.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import type { Command } from 'commander';
import { captureWorkflowId, checkpointsWorkflowId } from '../../contracts/ids';
import { workflowTypes } from '../../contracts/operations';
import { loadManifest } from '../../config/load-manifest';
import { captureEngineFor } from '../../datastores/capture-engines';
import { UserError } from '../../model/errors';
import type { Manifest } from '../../model/manifest';
import { capturedServices } from '../../model/captured';
import { lagBehind, merged, timelineOf } from '../../model/timeline';
import { runAttributes } from '../../temporal/runs';
import { connectClient, settingsFromEnv } from '../../temporal/settings';
import type { CaptureStreamInput } from '../../workflows/capture';
import { stopCaptureSignal } from '../../workflows/capture';
import { type GroupCheckpointsInput, stopCheckpointsSignal } from '../../workflows/checkpoints';
import { EXIT, action, json, openRepositoryOf, printJson, serviceList } from '../command-kit';
import { formatBytes, table } from '../output';

export function register(program: Command): void {
  const pitr = program
    .command('pitr')
    .description('continuous capture of the log (WAL, binlog, replication stream) for restore to any second');
  pitr
    .command('start <manifest>')
    .description('check each captured source, then start its capture workflow on the workers')
    .option('--services <names>', 'only these captured services')
    .addOption(json())
    .action(action(start));
  pitr
    .command('status <manifest>')
    .description("each stream's restorable window, its gaps and its RPO now; exit 3 when a log has a gap")
    .option('--services <names>', 'only these captured services')
    .addOption(json())
    .action(action(status));
  pitr
    .command('stop <manifest>')
    .description('stop capturing, once the running sessions have stored what they hold')
    .option('--services <names>', 'only these captured services')
    .addOption(json())
    .action(action(stop));
}

interface Flags {
  services?: string;
  json?: boolean;
}

function captured(manifest: Manifest, flags: Flags) {
  const all = capturedServices(manifest);
  if (all.length === 0)
    throw new UserError(
      'no service is captured: set pitr: {} on a PostgreSQL, MariaDB or Redis service, or on its tier',
    );
  const chosen = serviceList(
    '--services',
    flags.services,
    all.map((c) => c.service),
  );
  return chosen ? all.filter((c) => chosen.includes(c.service)) : all;
}

async function start(file: string, flags: Flags) {
  const manifest = loadManifest(file);
  const streams = captured(manifest, flags);
  await refuseUnprepared(
    manifest,
    streams.map((s) => s.service),
  );
  const settings = settingsFromEnv();
  const client = await connectClient(settings);
  const startOne = (workflowType: string, workflowId: string, input: unknown, summary: string) =>
    client.workflow
      .start(workflowType, {
        taskQueue: settings.taskQueue,
        workflowId,
        args: [input],
        typedSearchAttributes: runAttributes('capture', manifest.app),
        staticSummary: summary,
      })
      .then(
        () => 'started',
        (err: unknown) => {
          if (err instanceof WorkflowExecutionAlreadyStartedError) return 'already running';
          throw err;
        },
      );
  const started: Array<{ service: string; workflowId: string; state: string }> = [];
  for (const { service, policy } of streams) {
    const workflowId = captureWorkflowId(manifest.app, service);
    const input: CaptureStreamInput = {
      spec: { app: manifest.app, repository: manifest.repository },
      service,
      datastore: manifest.services[service].datastore!,
      policy,
    };
    const summary = `capture of ${manifest.app}: ${service}`;
    started.push({
      service,
      workflowId,
      state: await startOne(workflowTypes.capture, workflowId, input, summary),
    });
  }
  for (const [group, input] of checkpointedGroups(manifest, streams)) {
    const workflowId = checkpointsWorkflowId(manifest.app, group);
    const summary = `checkpoints of ${manifest.app}: ${group}`;
    const state = await startOne(workflowTypes.checkpoints, workflowId, input, summary);
    started.push({ service: `group ${group}`, workflowId, state });
  }
  if (flags.json) return printJson(started);
  for (const s of started) console.log(`${s.service}: ${s.state} (${s.workflowId})`);
}

/** The groups with checkpoint_every whose members are all being captured. */
function checkpointedGroups(manifest: Manifest, streams: Array<{ service: string }>) {
  const capturing = new Set(streams.map((s) => s.service));
  return Object.entries(manifest.consistencyGroups).flatMap(
    ([group, g]): Array<[string, GroupCheckpointsInput]> =>
      g.checkpoint_every !== undefined && g.members.every((m) => capturing.has(m))
        ? [
            [
              group,
              {
                spec: { app: manifest.app, repository: manifest.repository },
                group,
                members: g.members.map((service) => ({
                  service,
                  datastore: manifest.services[service].datastore!,
                })),
                everyMs: g.checkpoint_every,
                pause: g.pause,
                resume: g.resume,
              },
            ],
          ]
        : [],
  );
}

/** Every source's missing settings, all at once, before any capture starts. */
async function refuseUnprepared(manifest: Manifest, services: string[]) {
  const problems: string[] = [];
  for (const service of services) {
    const store = manifest.services[service].datastore!;
    const missing = await captureEngineFor(store)!.preflight(store);
    for (const r of missing)
      problems.push(`  ${service}: ${r.setting} is ${r.found}, needs ${r.needed}\n    fix: ${r.fix}`);
  }
  if (problems.length > 0)
    throw new UserError(`capture cannot start; nothing was changed on any server:\n${problems.join('\n')}`);
}

async function status(file: string, flags: Flags) {
  const manifest = loadManifest(file);
  const streams = captured(manifest, flags);
  const repo = await openRepositoryOf(file, manifest.repository);
  try {
    const rows = [];
    for (const { service } of streams) rows.push(await streamStatus(manifest, repo, service));
    if (flags.json) printJson(rows);
    else printStatus(rows);
    if (rows.some((r) => r.gaps.length > 0)) process.exitCode = EXIT.corrupt;
  } finally {
    await repo.close();
  }
}

async function streamStatus(
  manifest: Manifest,
  repo: Awaited<ReturnType<typeof openRepositoryOf>>,
  service: string,
) {
  const store = manifest.services[service].datastore!;
  const timeline = timelineOf(
    await repo.streams.bases(manifest.app, service),
    await repo.streams.logs(manifest.app, service),
  );
  const head = await captureEngineFor(store)!
    .head(store)
    .catch((err: Error) => ({ error: err.message }));
  const durable = timeline.durable;
  const lag = lagBehind(durable, 'offset' in head ? head : undefined, Date.now());
  return {
    service,
    window: merged(timeline.intervals),
    gaps: timeline.gaps,
    forks: timeline.forks,
    timeQuality: timeline.timeQuality,
    durable,
    head,
    rpo: lag,
  };
}

function printStatus(rows: Awaited<ReturnType<typeof streamStatus>>[]) {
  const lines = rows.map((r) => [
    r.service,
    r.window.length ? r.window.map((w) => `${w.from} .. ${w.to}`).join(', ') : 'nothing restorable yet',
    r.rpo
      ? `${r.rpo.seconds.toFixed(1)} s / ${formatBytes(r.rpo.bytes)}`
      : 'error' in r.head
        ? `source: ${r.head.error}`
        : '-',
    r.timeQuality ?? '-',
    String(r.gaps.length),
  ]);
  console.log(table(['service', 'restorable', 'RPO now', 'times', 'gaps'], lines));
  for (const r of rows)
    for (const g of r.gaps)
      console.log(
        `GAP ${r.service}: ${g.bytes} bytes missing after ${g.after.file} (captured until ${g.after.time})`,
      );
}

async function stop(file: string, flags: Flags) {
  const manifest = loadManifest(file);
  const streams = captured(manifest, flags);
  const client = await connectClient(settingsFromEnv());
  const signalled = (workflowId: string, signal: SignalDefinition) =>
    client.workflow
      .getHandle(workflowId)
      .signal(signal)
      .then(
        () => 'stopping',
        () => 'not running',
      );
  const out = [];
  for (const [group] of checkpointedGroups(manifest, streams)) {
    const workflowId = checkpointsWorkflowId(manifest.app, group);
    out.push({
      service: `group ${group}`,
      workflowId,
      state: await signalled(workflowId, stopCheckpointsSignal),
    });
  }
  for (const { service } of streams) {
    const workflowId = captureWorkflowId(manifest.app, service);
    out.push({ service, workflowId, state: await signalled(workflowId, stopCaptureSignal) });
  }
  if (flags.json) return printJson(out);
  for (const s of out) console.log(`${s.service}: ${s.state}`);
}
