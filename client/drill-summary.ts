/** The drill command's summary table. */
import { formatDuration } from '../model/duration';
import { type DrillReport, type Measure, drillVerdict } from '../workflows/drill-report';
import { table } from './output';

export function drillSummary(report: DrillReport): string {
  const rows = Object.entries(report.services).map(([name, s]) => {
    const checks = s.validation?.results ?? [];
    return [
      name,
      s.status,
      measure(s.rto),
      measure(s.rpo),
      checks.length > 0
        ? `${checks.filter((c) => c.ok).length}/${checks.length} passed`
        : s.kind === 'stateless'
          ? ''
          : 'none',
      s.reason ?? '',
    ];
  });
  const { verdict, advice } = drillVerdict(report);
  const lines = [
    table(['service', 'status', 'RTO', 'RPO', 'validators', 'detail'], rows),
    `drill of ${report.app}, backup ${report.backupId}: ${verdict}`,
    ...(advice ? [`  ${advice}`] : []),
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
