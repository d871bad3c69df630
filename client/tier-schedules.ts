/**
 * Makes the server's Temporal Schedules match a manifest's tiers (model/tier-schedules.ts):
 * created, updated only when the manifest changed, removed when their tier went, and the
 * adaptive scheduler workflow started or stopped to suit. Each schedule's action carries
 * a digest of what the manifest asked for, so applying twice changes nothing, and an
 * interval moved by the adaptive scheduler is kept until the manifest itself changes.
 */
import { createHash } from 'node:crypto';
import { Client, ScheduleDescription, ScheduleHandle, ScheduleOverlapPolicy } from '@temporalio/client';
import { UserError } from '../model/errors';
import type { Manifest } from '../model/manifest';
import { sandboxFor } from '../workflows/sandbox';
import { builtInTiers } from '../model/manifest';
import { type TierSchedule, desiredSchedules, scheduledOperations } from '../model/tier-schedules';
import type { AdaptiveInput } from '../workflows/adaptive';
import { runAttributes } from '../temporal/runs';
import { workflowTypes } from '../contracts/operations';
import { adaptiveWorkflowId, isTierScheduleId, tierScheduleId } from '../contracts/ids';
import { describeSchedule, describeWorkflow } from '../temporal/lookups';
import { appSpec, subsetOf } from '../model/app-spec';

export type ScheduleChange = 'created' | 'updated' | 'unchanged' | 'removed';
export interface AppliedSchedule {
  id: string;
  change: ScheduleChange;
  detail: string;
}

const digestKey = 'lazarusDigest';

export async function applySchedules(
  client: Client,
  taskQueue: string,
  manifest: Manifest,
  options: { checkEveryMs?: number } = {},
): Promise<AppliedSchedule[]> {
  const desired = desiredSchedules(manifest);
  refuseUnsafeDrills(manifest, desired);
  const applied: AppliedSchedule[] = [];
  for (const schedule of desired) applied.push(await applyOne(client, taskQueue, manifest, schedule));
  const wanted = new Set(desired.map((s) => s.scheduleId));
  for (const { handle, id } of await existingTierSchedules(client, manifest)) {
    if (wanted.has(id)) continue;
    await handle.delete();
    applied.push({ id, change: 'removed', detail: 'its tier has no services or is gone' });
  }
  applied.push(await applyAdaptive(client, taskQueue, manifest, desired, options.checkEveryMs));
  return applied;
}

/** A drill schedule that could touch production would fail every time: refused before anything is applied. */
function refuseUnsafeDrills(manifest: Manifest, desired: TierSchedule[]): void {
  for (const schedule of desired.filter((s) => s.operation === 'drill')) {
    const { problems } = sandboxFor(subsetOf(appSpec(manifest), schedule.services), 'check');
    if (problems.length > 0)
      throw new UserError(
        `tiers.${schedule.tier}.drill: a drill of ${schedule.services.join(', ')} would not be safe:\n  ${problems.join('\n  ')}`,
      );
  }
}

function scheduleOptions(taskQueue: string, manifest: Manifest, schedule: TierSchedule) {
  const spec = subsetOf(appSpec(manifest), schedule.services);
  const input = schedule.operation === 'backup' ? { spec, failWhenFailed: true } : { spec };
  const definition = {
    spec:
      'every' in schedule.cadence
        ? { intervals: [{ every: schedule.cadence.every }] }
        : { cronExpressions: [schedule.cadence.cron] },
    action: {
      type: 'startWorkflow' as const,
      workflowType: workflowTypes[schedule.operation],
      taskQueue,
      args: [input],
      // The server appends each action's time: backup/shop/critical-2026-11-21T10:00:00Z.
      workflowId: schedule.scheduleId,
      typedSearchAttributes: runAttributes(schedule.operation, manifest.app),
    },
    policies: {
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: schedule.catchupWindowMs,
      pauseOnFailure: true,
    },
  };
  const digest = digestOf(definition);
  const summary = `${schedule.operation} of ${manifest.app}, tier ${schedule.tier}: ${schedule.services.join(', ')}`;
  return {
    ...definition,
    action: {
      ...definition.action,
      memo: { summary, cadence: cadenceText(schedule), [digestKey]: digest },
      staticSummary: summary,
    },
    digest,
  };
}

async function applyOne(
  client: Client,
  taskQueue: string,
  manifest: Manifest,
  schedule: TierSchedule,
): Promise<AppliedSchedule> {
  const { digest, ...wanted } = scheduleOptions(taskQueue, manifest, schedule);
  const handle = client.schedule.getHandle(schedule.scheduleId);
  const current = await describeSchedule(handle);
  const detail = `${schedule.operation} ${cadenceText(schedule)} of ${schedule.services.join(', ')}`;
  if (!current) {
    await client.schedule.create({
      scheduleId: schedule.scheduleId,
      ...wanted,
      memo: { lazarus: 'tiers', app: manifest.app },
    });
    return { id: schedule.scheduleId, change: 'created', detail };
  }
  if (current.action.type === 'startWorkflow' && current.action.memo?.[digestKey] === digest)
    return { id: schedule.scheduleId, change: 'unchanged', detail };
  await handle.update((previous) => ({ ...previous, ...wanted }));
  return { id: schedule.scheduleId, change: 'updated', detail };
}

/** Starts, restarts (when its schedules or bounds changed) or stops the adaptive scheduler. */
async function applyAdaptive(
  client: Client,
  taskQueue: string,
  manifest: Manifest,
  desired: TierSchedule[],
  checkEveryMs: number | undefined,
): Promise<AppliedSchedule> {
  const id = adaptiveWorkflowId(manifest.app);
  const adaptive = desired.filter((s) => s.adaptive);
  const running = await runningDigest(client, id);
  if (adaptive.length === 0) {
    if (running === undefined) return { id, change: 'unchanged', detail: 'no tier is adaptive' };
    await client.workflow.getHandle(id).terminate('no tier is adaptive any more');
    return { id, change: 'removed', detail: 'no tier is adaptive any more' };
  }
  const input: AdaptiveInput = {
    app: manifest.app,
    repository: manifest.repository,
    schedules: adaptive.map((s) => ({ scheduleId: s.scheduleId, services: s.services, ...s.adaptive! })),
    checkEveryMs: checkEveryMs ?? Math.max(60_000, Math.min(...adaptive.map((s) => s.adaptive!.minMs))),
  };
  const digest = digestOf({ input, taskQueue });
  const detail = `adjusts ${input.schedules.map((s) => s.scheduleId).join(', ')}`;
  if (running === digest) return { id, change: 'unchanged', detail };
  if (running !== undefined) await client.workflow.getHandle(id).terminate('the manifest changed');
  await client.workflow.start(workflowTypes.adapt, {
    taskQueue,
    workflowId: id,
    args: [input],
    typedSearchAttributes: runAttributes('adapt', manifest.app),
    memo: { summary: `adaptive scheduler of ${manifest.app}`, [digestKey]: digest },
  });
  return { id, change: running === undefined ? 'created' : 'updated', detail };
}

/** The digest of the adaptive scheduler while it runs; undefined when it does not. */
async function runningDigest(client: Client, workflowId: string): Promise<string | undefined> {
  const description = await describeWorkflow(client.workflow.getHandle(workflowId));
  if (description?.status.name !== 'RUNNING') return undefined;
  return String(description.memo?.[digestKey] ?? '');
}

/**
 * The tier schedules of an application that exist on the server. Those of the tiers the
 * manifest knows are described one by one (no lag); a tier of its own since removed from
 * the manifest is found by listing, which the server's visibility may show a moment late.
 */
export async function existingTierSchedules(
  client: Client,
  manifest: Pick<Manifest, 'app' | 'tiers'>,
): Promise<{ id: string; handle: ScheduleHandle; description: ScheduleDescription }[]> {
  const tiers = new Set<string>([...builtInTiers, ...Object.keys(manifest.tiers)]);
  const ids = new Set(
    scheduledOperations.flatMap((operation) =>
      [...tiers].map((t) => tierScheduleId(operation, manifest.app, t)),
    ),
  );
  for await (const { scheduleId } of client.schedule.list())
    if (isTierScheduleId(scheduleId, manifest.app, scheduledOperations)) ids.add(scheduleId);
  const found = [];
  for (const id of [...ids].sort()) {
    const handle = client.schedule.getHandle(id);
    const description = await describeSchedule(handle);
    if (description) found.push({ id, handle, description });
  }
  return found;
}

function cadenceText(schedule: TierSchedule): string {
  return 'every' in schedule.cadence
    ? `every ${formatInterval(schedule.cadence.every)}`
    : `on "${schedule.cadence.cron}"`;
}

/** 3600000 -> "1h", 90000 -> "90s": a schedule's interval as a manifest would write it. */
export function formatInterval(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

function digestOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}
