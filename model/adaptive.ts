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

/** One store's change between its last two backups (see repository/change-rate.ts). */
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
  const rates = measured.map((o) => ({ ...o, changed: Math.max(o.bytes, o.logBytes ?? 0) }));
  const busiest = rates.reduce((a, b) => (b.changed / b.sinceMs > a.changed / a.sinceMs ? b : a));
  const perHour = (busiest.changed / busiest.sinceMs) * hourMs;
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
      `${busiest.service} changed ${formatBytes(busiest.changed)} in ${formatDuration(busiest.sinceMs)} ` +
      `(${formatBytes(Math.round(perHour))}/h); at most ${formatBytes(bounds.atRiskBytes)} at risk ` +
      `needs a backup every ${formatDuration(ideal)}${clamp}: ${change}`,
  };
}

/** Whole seconds below an hour, whole minutes above: schedules that read well. */
function roundInterval(ms: number): number {
  const unit = ms >= hourMs ? 60_000 : 1000;
  return Math.max(unit, Math.round(ms / unit) * unit);
}
