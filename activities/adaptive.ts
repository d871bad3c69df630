/**
 * The adaptive scheduler's side effects: reading each tier's change figures from the
 * catalog, and moving a schedule's interval through the worker's Temporal client.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { missingOnServerAs, describeSchedule } from '../temporal/lookups';
import {
  type ChangeObservation,
  type IntervalProposal,
  proposeInterval,
  rateWindow,
  storeRate,
} from '../model/adaptive';
import type { ChangeSinceLast } from '../repository/records/catalog';
import { MissingRepositoryError } from '../repository/engine/format';
import type { RepositorySpec } from '../contracts/repository-spec';
import type { CatalogReader } from '../repository/repository';
import type { FeatureDeps } from './deps';

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

export function adaptiveActivities({
  repositories,
  schedules,
}: Pick<FeatureDeps, 'repositories' | 'schedules'>) {
  return {
    /** For each schedule, a new interval and why, when its stores' change rates call for one. */
    async proposeIntervals(input: {
      app: string;
      repository: RepositorySpec;
      schedules: AdaptiveSchedule[];
    }): Promise<ScheduleProposal[]> {
      // Applied before the first backup, the scheduler finds no repository yet: no change yet either.
      const repo = await repositories.open(input.repository).catch((err: unknown) => {
        if (err instanceof ApplicationFailure && err.type === MissingRepositoryError.failureType)
          return undefined;
        throw err;
      });
      if (!repo) return [];
      const changes = await latestChanges(
        repo,
        input.app,
        input.schedules.flatMap((s) => s.services),
      );
      const proposals: ScheduleProposal[] = [];
      for (const schedule of input.schedules) {
        const description = await describeSchedule(schedules().getHandle(schedule.scheduleId));
        if (!description) continue; // removed since the scheduler started: `schedule apply` restarts it
        const previousMs = Number(description.spec.intervals?.[0]?.every ?? 0);
        if (!previousMs) continue; // a calendar schedule, or changed by hand: left alone
        const proposal = proposeInterval(
          previousMs,
          schedule,
          schedule.services.flatMap((service) => changes.get(service) ?? []),
        );
        if (proposal) proposals.push({ scheduleId: schedule.scheduleId, previousMs, ...proposal });
      }
      return proposals;
    },

    /**
     * Sets the interval and writes the reason as the schedule's note, shown by the UI and
     * `schedule list`; false when the schedule is gone.
     */
    async setScheduleInterval(input: ScheduleProposal): Promise<boolean> {
      return schedules()
        .getHandle(input.scheduleId)
        .update((previous) => ({
          ...previous,
          spec: { ...previous.spec, intervals: [{ every: input.everyMs }] },
          state: { ...previous.state, note: `adaptive: ${input.reason}` },
        }))
        .then(() => true, missingOnServerAs(false));
    },
  };
}

/** Each service's rate from its latest recorded changes, reading the catalog back only that far. */
async function latestChanges(
  repo: Pick<CatalogReader, 'backupsNewestFirst'>,
  app: string,
  services: string[],
): Promise<Map<string, ChangeObservation>> {
  const recent = new Map(services.map((s) => [s, [] as ChangeSinceLast[]]));
  for await (const backup of repo.backupsNewestFirst(app)) {
    for (const [service, changes] of recent) {
      const change = backup.services[service]?.change;
      if (change && changes.length < rateWindow) changes.push(change);
    }
    if ([...recent.values()].every((changes) => changes.length === rateWindow)) break;
  }
  const rates = new Map<string, ChangeObservation>();
  for (const [service, changes] of recent) {
    const rate = storeRate(service, changes);
    if (rate) rates.set(service, rate);
  }
  return rates;
}
