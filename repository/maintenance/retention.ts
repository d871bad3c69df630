/**
 * Retention rules, as restic's `forget` applies them: keep the newest N; keep the newest
 * backup of each of the last N hours, days, ISO weeks, months and years that have one;
 * keep everything within a span of the newest. Pure: the same backups and rules always
 * give the same answer, with the reasons for each backup kept.
 */
import type { Retention } from '../../model/manifest';

export interface Dated {
  id: string;
  /** When the backup was taken (ISO). */
  at: string;
}

type Bucket = (at: Date) => string;

const buckets: [keyof Retention, string, Bucket][] = [
  ['hourly', 'hourly', (d) => d.toISOString().slice(0, 13)],
  ['daily', 'daily', (d) => d.toISOString().slice(0, 10)],
  ['weekly', 'weekly', isoWeek],
  ['monthly', 'monthly', (d) => d.toISOString().slice(0, 7)],
  ['yearly', 'yearly', (d) => d.toISOString().slice(0, 4)],
];

/** Which backups the rules keep, each with why; a backup absent from the map goes. */
export function applyRetention(backups: Dated[], rules: Retention): Map<string, string[]> {
  const newestFirst = [...backups].sort((a, b) => b.at.localeCompare(a.at) || b.id.localeCompare(a.id));
  const kept = new Map<string, string[]>();
  const keep = (id: string, reason: string) => kept.set(id, [...(kept.get(id) ?? []), reason]);

  newestFirst.slice(0, rules.keep_last ?? 0).forEach((b, i) => keep(b.id, `last ${i + 1}`));
  for (const [rule, label, bucketOf] of buckets) {
    const limit = rules[rule] as number | undefined;
    if (!limit) continue;
    let last: string | undefined;
    let count = 0;
    for (const backup of newestFirst) {
      const bucket = bucketOf(new Date(backup.at));
      if (bucket === last) continue;
      last = bucket;
      keep(backup.id, `${label} ${bucket}`);
      if (++count >= limit) break;
    }
  }
  if (rules.within && newestFirst.length > 0) {
    const since = Date.parse(newestFirst[0].at) - rules.within;
    for (const backup of newestFirst) if (Date.parse(backup.at) >= since) keep(backup.id, 'within');
  }
  return kept;
}

/** ISO 8601 week: weeks start on Monday; week 1 holds the year's first Thursday. */
function isoWeek(date: Date): string {
  const day = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday); // the Thursday of this week
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}
