/** `lazarus cost`: what the repository stores and what it costs. */
import type { Command } from 'commander';
import { UserError } from '../../model/errors';
import { loadManifest } from '../../config/load-manifest';
import { costReport, type CostReport } from '../../repository/maintenance/cost';
import { action, json, openRepositoryOf, printJson } from '../command-kit';
import { formatBytes, table } from '../output';

export function register(program: Command): void {
  program
    .command('cost <manifest>')
    .description(
      'logical and stored bytes, dedup and compression ratios, per service and backup, and a monthly estimate',
    )
    .option(
      '--per-gb-month <price>',
      "price of a GB stored for a month (default: the manifest's cost, else 0.023)",
      Number,
    )
    .option(
      '--per-gb-transfer <price>',
      "price of a GB transferred (default: the manifest's cost, else 0.09)",
      Number,
    )
    .addOption(json())
    .action(
      action(async (file: string, opts) => {
        const manifest = loadManifest(file);
        const prices = {
          perGbMonth: price(opts.perGbMonth, '--per-gb-month') ?? manifest.cost.perGbMonth,
          perGbTransfer: price(opts.perGbTransfer, '--per-gb-transfer') ?? manifest.cost.perGbTransfer,
        };
        const repo = await openRepositoryOf(file, manifest.repository);
        const report = await costReport(repo, manifest.app, prices);
        await repo.close();
        if (opts.json) return printJson(report);
        console.log(costSummary(report));
      }),
    );
}

function price(value: number | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!(value >= 0)) throw new UserError(`${flag}: write a price such as 0.023`);
  return value;
}

function costSummary(r: CostReport): string {
  const usageRow = (name: string, u: { logicalBytes: number; uniqueBytes: number; storedBytes: number }) => [
    name,
    formatBytes(u.logicalBytes),
    formatBytes(u.uniqueBytes),
    formatBytes(u.storedBytes),
  ];
  const m = r.month;
  return [
    table(
      ['service', 'logical', 'new chunks', 'stored'],
      Object.entries(r.services).map(([n, u]) => usageRow(n, u)),
    ),
    '',
    table(
      ['backup', 'logical', 'new chunks', 'stored'],
      r.backups.map((b) => usageRow(b.id, b)),
    ),
    '',
    `repository: ${formatBytes(r.repository.logicalBytes)} of snapshots kept in ${formatBytes(r.repository.packBytes)}: ` +
      `dedup ${r.repository.dedupRatio}x, compression ${r.repository.compressionRatio}x`,
    `monthly estimate: $${m.total.toFixed(2)} (storage $${m.storage.toFixed(2)} at $${m.prices.perGbMonth}/GB-month, ` +
      `transfer $${m.transfer.toFixed(2)} for ${formatBytes(m.uploadedBytes + m.drillReadBytes)} at $${m.prices.perGbTransfer}/GB)`,
  ].join('\n');
}
