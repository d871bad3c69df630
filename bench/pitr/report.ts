/**
 * The PITR bench's figures: one JSON line on stdout (each tool's, and Lazarus's ratios to
 * pgBackRest's, with the issue's targets reported, not asserted) and a table on stderr.
 */
import { table } from '../../client/output';
import { percentile } from '../consistency-trials';

export interface ToolFigures {
  baseSeconds: number;
  lags: number[];
  /** The restore to the target: seconds to the recovered server answering and counting its rows. */
  restoreSeconds: number;
  /** The same with everything around it (for Lazarus: the `lazarus drill` command's wall time). */
  restoreWallSeconds: number;
  restoredRows: number;
  storedBytes: number;
}

const round = (n: number, digits = 3) => Number(n.toFixed(digits));

function rpo(lags: number[]) {
  return {
    p50: round(percentile(lags, 50)),
    p99: round(percentile(lags, 99)),
    max: round(Math.max(0, ...lags)),
    samples: lags.length,
  };
}

function tool(figures: ToolFigures, clusterBytes: number, expectedRows: number) {
  return {
    baseMBps: round(clusterBytes / 2 ** 20 / figures.baseSeconds, 1),
    baseSeconds: round(figures.baseSeconds),
    rpoSeconds: rpo(figures.lags),
    restoreSeconds: round(figures.restoreSeconds),
    restoreWallSeconds: round(figures.restoreWallSeconds),
    restoredRows: figures.restoredRows,
    restoreExact: figures.restoredRows === expectedRows,
    storedBytes: figures.storedBytes,
  };
}

export function summary(input: {
  context: Record<string, unknown>;
  clusterBytes: number;
  expectedRows: number;
  pgbackrest: ToolFigures;
  lazarus: ToolFigures;
}) {
  const pg = tool(input.pgbackrest, input.clusterBytes, input.expectedRows);
  const lz = tool(input.lazarus, input.clusterBytes, input.expectedRows);
  const ratio = (a: number, b: number) => (b === 0 ? null : round(a / b));
  return {
    ...input.context,
    clusterMB: round(input.clusterBytes / 2 ** 20, 1),
    expectedRows: input.expectedRows,
    pgbackrest: pg,
    lazarus: lz,
    lazarusToPgbackrest: {
      baseMBps: ratio(lz.baseMBps, pg.baseMBps),
      rpoP50: ratio(lz.rpoSeconds.p50, pg.rpoSeconds.p50),
      rpoP99: ratio(lz.rpoSeconds.p99, pg.rpoSeconds.p99),
      restoreSeconds: ratio(lz.restoreSeconds, pg.restoreSeconds),
      restoreWallSeconds: ratio(lz.restoreWallSeconds, pg.restoreWallSeconds),
      storedBytes: ratio(lz.storedBytes, pg.storedBytes),
    },
    targets: {
      rpoP99AtMost1s: lz.rpoSeconds.p99 <= 1,
      restoreNoSlowerThanPgbackrest: lz.restoreSeconds <= pg.restoreSeconds,
      storedNoMoreThanPgbackrest: lz.storedBytes <= pg.storedBytes,
    },
  };
}

export function humanTable(s: ReturnType<typeof summary>): string {
  const row = (name: string, t: ReturnType<typeof tool>) => [
    name,
    `${t.baseMBps} MB/s (${t.baseSeconds} s)`,
    `${t.rpoSeconds.p50} / ${t.rpoSeconds.p99} / ${t.rpoSeconds.max}`,
    `${t.restoreSeconds} s (wall ${t.restoreWallSeconds} s)`,
    `${t.restoredRows}${t.restoreExact ? ' (exact)' : ` (expected ${s.expectedRows})`}`,
    `${(t.storedBytes / 2 ** 20).toFixed(1)} MB`,
  ];
  const r = s.lazarusToPgbackrest;
  return table(
    ['tool', 'base', 'RPO s p50/p99/max', 'restore to T', 'rows at T', 'stored'],
    [
      row('pgBackRest', s.pgbackrest),
      row('Lazarus', s.lazarus),
      [
        'Lazarus / pgBackRest',
        `${r.baseMBps}`,
        `p50 ${r.rpoP50}, p99 ${r.rpoP99}`,
        `${r.restoreSeconds} (wall ${r.restoreWallSeconds})`,
        '',
        `${r.storedBytes}`,
      ],
    ],
  );
}
