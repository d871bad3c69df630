/**
 * The adaptive scheduler's rule: back a tier up often enough that its busiest store
 * changes by at most `atRiskBytes` between backups, within the tier's bounds. A store
 * that changes fast shortens the interval, an idle tier lengthens it to its maximum; a
 * critical tier starts from a smaller byte budget, so it is backed up more often for the
 * same churn. Pure: the same observations always give the same answer.
 */
import { formatDuration } from './duration';
import { formatBytes } from './units';

export interface AdaptiveBounds {
  minMs: number;
  maxMs: number;
  atRiskBytes: number;
}

/** One store's change over a span of its backups (see repository/maintenance/change-rate.ts and storeRate). */
export interface ChangeObservation {
  service: string;
  bytes: number;
  sinceMs: number;
  /** Log growth over the same span (WAL, binlog, replication offset), when recorded. */
  logBytes?: number;
}

export interface IntervalProposal {
  everyMs: number;
  reason: string;
}

/** Changes smaller than this share of the current interval are not worth a schedule update. */
const hysteresis = 0.2;
const hourMs = 3_600_000;

export function proposeInterval(
  currentMs: number,
  bounds: AdaptiveBounds,
  observations: ChangeObservation[],
): IntervalProposal | undefined {
  const measured = observations.filter((o) => o.sinceMs > 0);
  if (measured.length === 0) return undefined; // no two backups to compare yet
  const busiest = measured.reduce((a, b) => (ratePerMs(b) > ratePerMs(a) ? b : a));
  const changed = Math.max(busiest.bytes, busiest.logBytes ?? 0);
  const perHour = ratePerMs(busiest) * hourMs;
  const ideal = perHour > 0 ? (bounds.atRiskBytes / perHour) * hourMs : Infinity;
  const within = (ms: number) => Math.min(Math.max(ms, bounds.minMs), bounds.maxMs);
  const everyMs = within(roundInterval(within(ideal)));
  if (Math.abs(everyMs - currentMs) < currentMs * hysteresis) return undefined;

  const range = `bounds ${formatDuration(bounds.minMs)}-${formatDuration(bounds.maxMs)}`;
  const change = `every ${formatDuration(everyMs)} (was ${formatDuration(currentMs)}, ${range})`;
  if (perHour === 0) return { everyMs, reason: `no store changed since its last backup: ${change}` };
  const clamp =
    ideal < bounds.minMs ? ', held at the minimum' : ideal > bounds.maxMs ? ', held at the maximum' : '';
  return {
    everyMs,
    reason:
      `${busiest.service} changed ${formatBytes(changed)} in ${formatDuration(busiest.sinceMs)} ` +
      `(${formatBytes(Math.round(perHour))}/h); at most ${formatBytes(bounds.atRiskBytes)} at risk ` +
      `needs a backup every ${formatDuration(ideal)}${clamp}: ${change}`,
  };
}

/** How many of a store's latest backups its steady rate is averaged over. */
export const rateWindow = 3;

/**
 * A store's change rate from its latest changes, newest first: the higher of the latest
 * one and their average over the window, so a burst shortens the interval at once while
 * one quiet spell after busy ones does not lengthen it (it backs off over a few backups).
 */
export function storeRate(
  service: string,
  changes: { bytes: number; sinceMs?: number; logBytes?: number }[],
): ChangeObservation | undefined {
  const measured = changes
    .slice(0, rateWindow)
    .filter((c): c is typeof c & { sinceMs: number } => (c.sinceMs ?? 0) > 0)
    .map((c) => ({ service, ...c }));
  if (measured.length === 0) return undefined;
  const total = (key: 'bytes' | 'sinceMs' | 'logBytes') => measured.reduce((n, c) => n + (c[key] ?? 0), 0);
  const average: ChangeObservation = {
    service,
    bytes: total('bytes'),
    sinceMs: total('sinceMs'),
    logBytes: measured.every((c) => c.logBytes !== undefined) ? total('logBytes') : undefined,
  };
  return ratePerMs(measured[0]) >= ratePerMs(average) ? measured[0] : average;
}

function ratePerMs(o: ChangeObservation): number {
  return Math.max(o.bytes, o.logBytes ?? 0) / o.sinceMs;
}

/** Whole seconds below an hour, whole minutes above: schedules that read well. */
function roundInterval(ms: number): number {
  const unit = ms >= hourMs ? 60_000 : 1000;
  return Math.max(unit, Math.round(ms / unit) * unit);
}
