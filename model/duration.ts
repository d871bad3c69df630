/**
 * Durations in a manifest: a number of seconds, or a string with a unit ("500ms",
 * "30s", "5m", "1h", "7d"). Kept as milliseconds once parsed. Imported by workflow code:
 * no Node built-ins.
 */
import { z } from 'zod';

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(text.trim());
  return match ? Math.round(Number(match[1]) * unitMs[match[2]]) : undefined;
}

/** A zod schema for a duration, with an optional upper bound; the output is milliseconds. */
export function durationSchema(max?: { ms: number; text: string }) {
  return z
    .union([z.number().positive(), z.string()])
    .transform((value, ctx) => {
      const ms = typeof value === 'number' ? Math.round(value * 1000) : parseDuration(value);
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({
          code: 'custom',
          message: `"${value}" is not a duration; write seconds (30) or a number with a unit: 500ms, 30s, 5m, 1h, 7d`,
        });
        return z.NEVER;
      }
      if (max && ms > max.ms) {
        ctx.addIssue({ code: 'custom', message: `at most ${max.text}` });
        return z.NEVER;
      }
      return ms;
    })
    .describe('A duration: seconds, or a number with a unit (500ms, 30s, 5m, 1h, 7d)');
}

/** "1.5 s", "12 min": for reports and messages. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms < 86_400_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} d`;
}
