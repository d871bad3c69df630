/** Runs on a Temporal Schedule (drills, verifies): created, updated in place, or removed. */
import type { Command } from 'commander';
import { Client, ScheduleOverlapPolicy } from '@temporalio/client';
import { describeSchedule } from '../temporal/lookups';
import { UserError } from '../model/errors';
import { formatDuration, parseDuration } from '../model/duration';
import { runAttributes } from '../temporal/runs';
import { type Operation, workflowTypes } from '../contracts/operations';
import { scheduleIdFor, scheduledWorkflowIdPrefix } from '../contracts/ids';

export interface ScheduleTiming {
  every?: string;
  cron?: string;
  unschedule?: boolean;
}

/** The flags that make a run command (drill, verify) edit its schedule instead of running now. */
export function withScheduleOptions(
  command: Command,
  operation: 'drill' | 'verify',
  example: string,
): Command {
  return command
    .option(
      '--every <duration>',
      `instead of a ${operation} now, schedule one at this interval (e.g. ${example})`,
    )
    .option('--cron <expression>', `instead of a ${operation} now, schedule one on this cron expression`)
    .option('--unschedule', `remove the application's ${operation} schedule`);
}

export function editsSchedule(timing: ScheduleTiming): boolean {
  return Boolean(timing.every || timing.cron || timing.unschedule);
}

/** Creates, replaces or removes the schedule of one operation for an application. */
export async function scheduleRun(
  client: Client,
  taskQueue: string,
  run: { operation: Operation; app: string; input: unknown },
  timing: ScheduleTiming,
): Promise<{ scheduleId: string; message: string }> {
  const scheduleId = scheduleIdFor(run.operation, run.app);
  const existing = client.schedule.getHandle(scheduleId);
  const exists = (await describeSchedule(existing)) !== undefined;
  if (timing.unschedule) {
    if (!exists) throw new UserError(`no ${run.operation} schedule for ${run.app}`);
    await existing.delete();
    return { scheduleId, message: `removed schedule ${scheduleId}` };
  }
  const every = timing.every === undefined ? undefined : parseDuration(timing.every);
  if (timing.every !== undefined && !every)
    throw new UserError(`--every ${timing.every}: write a duration such as 12h or 1d`);
  const spec = every ? { intervals: [{ every }] } : { cronExpressions: [timing.cron!] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: workflowTypes[run.operation],
    taskQueue,
    args: [run.input],
    // The server appends the time of each action: <operation>/<app>/scheduled-<time>.
    workflowId: scheduledWorkflowIdPrefix(run.operation, run.app),
    typedSearchAttributes: runAttributes(run.operation, run.app),
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP };
  if (exists) await existing.update((previous) => ({ ...previous, spec, action, policies }));
  else await client.schedule.create({ scheduleId, spec, action, policies });
  const when = every ? `every ${formatDuration(every)}` : `on cron "${timing.cron}"`;
  return {
    scheduleId,
    message: `${exists ? 'updated' : 'created'} schedule ${scheduleId}: a ${run.operation} ${when}`,
  };
}
