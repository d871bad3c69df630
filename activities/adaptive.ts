/**
 * The adaptive scheduler's side effects: reading each tier's change figures from the
 * catalog, and moving a schedule's interval through the worker's Temporal client.
 */
import { Context } from '@temporalio/activity';
import { ScheduleNotFoundError } from '@temporalio/client';
import { type ChangeObservation, type IntervalProposal, proposeInterval } from '../model/adaptive';
import type { BackupEntry } from '../repository/catalog';
import type { RepositorySpec } from '../repository/location';
import type { Repository } from '../repository/repository';

export interface AdaptiveSchedule {
  scheduleId: string;
  services: string[];
  minMs: number;
  maxMs: number;
  atRiskBytes: number;
}

export interface ScheduleProposal extends IntervalProposal {
  scheduleId: string;
  previousMs: number;
}

export function adaptiveActivities(openRepository: (spec: RepositorySpec) => Promise<Repository>) {
  return {
    /** For each schedule, a new interval and why, when its stores' change rates call for one. */
    async proposeIntervals(input: {
      app: string;
      repository: RepositorySpec;
      schedules: AdaptiveSchedule[];
    }): Promise<ScheduleProposal[]> {
      const backups = await (await openRepository(input.repository)).listBackups(input.app);
      const proposals: ScheduleProposal[] = [];
      for (const schedule of input.schedules) {
        const description = await Context.current()
          .client.schedule.getHandle(schedule.scheduleId)
          .describe()
          .catch(absentAs(undefined));
        if (!description) continue; // removed since the scheduler started: `schedule apply` restarts it
        const previousMs = Number(description.spec.intervals?.[0]?.every ?? 0);
        if (!previousMs) continue; // a calendar schedule, or changed by hand: left alone
        const proposal = proposeInterval(previousMs, schedule, latestChanges(backups, schedule.services));
        if (proposal) proposals.push({ scheduleId: schedule.scheduleId, previousMs, ...proposal });
      }
      return proposals;
    },

    /** Sets the interval and writes the reason as the schedule's note, shown by the UI and `schedule list`. */
    /** false when the schedule is gone. */
    async setScheduleInterval(input: ScheduleProposal): Promise<boolean> {
      return Context.current()
        .client.schedule.getHandle(input.scheduleId)
        .update((previous) => ({
          ...previous,
          spec: { ...previous.spec, intervals: [{ every: input.everyMs }] },
          state: { ...previous.state, note: `adaptive: ${input.reason}` },
        }))
        .then(() => true, absentAs(false));
    },
  };
}

/** A schedule deleted meanwhile is no error to retry: the result is `value` instead. */
function absentAs<T>(value: T) {
  return (err: unknown): T => {
    if (err instanceof ScheduleNotFoundError) return value;
    throw err;
  };
}

/** Each service's change as recorded by its most recent backup. */
function latestChanges(backups: BackupEntry[], services: string[]): ChangeObservation[] {
  const observations: ChangeObservation[] = [];
  for (const service of services) {
    const change = backups.filter((b) => b.services[service]?.change).at(-1)?.services[service].change;
    if (change?.sinceMs) observations.push({ service, ...change, sinceMs: change.sinceMs });
  }
  return observations;
}
