/** The drill command's pieces: its schedule (a Temporal Schedule) and its summary table. */
import { Client, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { UserError } from '../model/errors';
import { formatDuration, parseDuration } from '../model/duration';
import type { DrillInput } from '../workflows/drill';
import type { DrillReport, Measure } from '../workflows/drill-report';
import { runAttributes, workflowTypes } from './run-workflow';
import { table } from './output';

export function drillScheduleId(app: string): string {
  return `drill/${app}`;
}

/** Creates, replaces or removes the application's drill schedule. */
export async function scheduleDrill(
  client: Client,
  taskQueue: string,
  input: DrillInput,
  opts: { every?: string; cron?: string; unschedule?: boolean },
): Promise<{ scheduleId: string; message: string }> {
  const scheduleId = drillScheduleId(input.spec.app);
  const existing = client.schedule.getHandle(scheduleId);
  const exists = await existing.describe().then(
    () => true,
    (err: unknown) => {
      if (err instanceof ScheduleNotFoundError) return false;
      throw err;
    },
  );
  if (opts.unschedule) {
    if (!exists) throw new UserError(`no drill schedule for ${input.spec.app}`);
    await existing.delete();
    return { scheduleId, message: `removed schedule ${scheduleId}` };
  }
  const every = opts.every === undefined ? undefined : parseDuration(opts.every);
  if (opts.every !== undefined && !every)
    throw new UserError(`--every ${opts.every}: write a duration such as 12h or 1d`);
  const spec = every ? { intervals: [{ every }] } : { cronExpressions: [opts.cron!] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: workflowTypes.drill,
    taskQueue,
    args: [input],
    // The server appends the time of each action: drill/<app>/scheduled-<time>.
    workflowId: `drill/${input.spec.app}/scheduled`,
    typedSearchAttributes: runAttributes('drill', input.spec.app),
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP };
  if (exists) await existing.update((previous) => ({ ...previous, spec, action, policies }));
  else await client.schedule.create({ scheduleId, spec, action, policies });
  const when = every ? `every ${formatDuration(every)}` : `on cron "${opts.cron}"`;
  return { scheduleId, message: `${exists ? 'updated' : 'created'} schedule ${scheduleId}: a drill ${when}` };
}

export function drillSummary(report: DrillReport): string {
  const rows = Object.entries(report.services).map(([name, s]) => {
    const checks = s.validation?.results ?? [];
    return [
      name,
      s.status,
      measure(s.rto),
      measure(s.rpo),
      checks.length > 0 ? `${checks.filter((c) => c.ok).length}/${checks.length} passed` : '',
      s.reason ?? '',
    ];
  });
  const lines = [
    table(['service', 'status', 'RTO', 'RPO', 'validators', 'detail'], rows),
    `drill of ${report.app}, backup ${report.backupId}: ${report.outcome === 'succeeded' ? 'passed' : 'failed'}`,
    `RTO ${measure(report.rto)}   RPO ${measure(report.rpo)}   sandbox ${report.teardown.ok ? 'removed' : 'NOT fully removed'}`,
    ...report.reasons.map((r) => `  - ${r}`),
  ];
  return lines.join('\n');
}

function measure(m?: Measure): string {
  return m
    ? `${formatDuration(m.ms)} (target ${formatDuration(m.targetMs)}, ${m.met ? 'met' : 'missed'})`
    : '-';
}
