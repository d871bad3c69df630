/**
 * The Temporal Schedules a manifest asks for: one backup schedule per tier that holds
 * stateful services, and one drill schedule per tier that sets a drill cadence. Pure:
 * `lazarus schedule apply` makes the server match this list.
 */
import {
  type BuiltInTier,
  type Cadence,
  type Manifest,
  type TierName,
  type TierTarget,
  isBuiltInTier,
} from './manifest';
import { tierScheduleId } from '../contracts/ids';

/** The operations a tier schedules. */
export const scheduledOperations = ['backup', 'drill'] as const;
export type ScheduledOperation = (typeof scheduledOperations)[number];

export interface TierSchedule {
  /** `backup/<app>/<tier>`: also the prefix of the workflow IDs it starts. */
  scheduleId: string;
  operation: ScheduledOperation;
  tier: TierName;
  /** The services a run of this schedule covers, consistency groups kept whole. */
  services: string[];
  cadence: Cadence;
  /** How late a missed run may still start. */
  catchupWindowMs: number;
  adaptive?: { minMs: number; maxMs: number; atRiskBytes: number };
}

/** A tier of the manifest's own must set at_risk (checked on load). */
const defaultAtRisk: Record<BuiltInTier, number> = {
  critical: 16 * 1024 ** 2,
  standard: 256 * 1024 ** 2,
  archive: 4 * 1024 ** 3,
};
/** The server refuses a catch-up window shorter than 10 s. */
const minCatchupMs = 10_000;

/** Every schedule the manifest asks for, sorted by ID. */
export function desiredSchedules(manifest: Manifest): TierSchedule[] {
  const schedules: TierSchedule[] = [];
  for (const [tier, target] of Object.entries(manifest.tiers)) {
    const services = tierServices(manifest, tier);
    if (services.length === 0) continue;
    const backup: Cadence = target.backup ?? { every: target.rpo };
    schedules.push(schedule(manifest.app, 'backup', tier, services, backup, target));
    if (target.drill) schedules.push(schedule(manifest.app, 'drill', tier, services, target.drill, target));
  }
  return schedules.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

function schedule(
  app: string,
  operation: ScheduledOperation,
  tier: TierName,
  services: string[],
  cadence: Cadence,
  target: TierTarget,
): TierSchedule {
  const intervalMs = 'every' in cadence ? cadence.every : 3_600_000;
  const adaptive =
    operation === 'backup' && target.adaptive && 'every' in cadence
      ? {
          minMs: target.adaptive.min,
          maxMs: target.adaptive.max ?? Math.max(target.rpo, target.adaptive.min),
          atRiskBytes: target.adaptive.at_risk ?? defaultAtRisk[isBuiltInTier(tier) ? tier : 'critical'],
        }
      : undefined;
  return {
    scheduleId: tierScheduleId(operation, app, tier),
    operation,
    tier,
    services,
    cadence,
    catchupWindowMs: Math.max(target.catchup_window ?? intervalMs, minCatchupMs),
    adaptive,
  };
}

/**
 * The stateful services of a tier, plus every member of a consistency group that holds
 * one of them: a group is one moment, so it is never split between schedules.
 */
export function tierServices(manifest: Manifest, tier: TierName): string[] {
  const chosen = new Set(
    Object.entries(manifest.services)
      .filter(([, service]) => service.tier === tier && service.datastore)
      .map(([name]) => name),
  );
  for (const group of Object.values(manifest.consistencyGroups)) {
    if (group.members.some((m) => chosen.has(m))) group.members.forEach((m) => chosen.add(m));
  }
  return [...chosen].sort();
}
