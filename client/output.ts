import { SingleBar } from 'cli-progress';
import { formatDuration as formatSpan } from '../model/duration';
import { formatBytes } from '../model/units';
export { formatBytes };
import type { RunResult } from '../workflows/types';

/** A step's time for tables: "-" when it did not run. */
export function formatDuration(ms: number | undefined): string {
  return ms === undefined ? '-' : formatSpan(ms);
}

/** A plain table: columns padded to their widest cell. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function runTable(result: RunResult): string {
  const rows = Object.entries(result.services)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, o]) => [
      name,
      o.status,
      formatDuration(o.durationMs),
      formatBytes(o.bytes),
      o.reason ?? o.restoredTo ?? (o.flushed ? 'cache flushed' : ''),
    ]);
  return table(['service', 'status', 'time', 'size', 'detail'], rows);
}

/** A progress bar on stderr for counted work (packs read, backups forgotten). */
export function progressBar(unit: string): SingleBar {
  return new SingleBar({
    format: `{bar} {value}/{total} ${unit}`,
    hideCursor: true,
    clearOnComplete: true,
    stream: process.stderr,
  });
}
