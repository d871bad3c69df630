/** `lazarus prune`: packs no backup refers to removed from the repository. */
import type { Command } from 'commander';
import { prune, type PruneReport } from '../../repository/maintenance/prune';
import { action, json, manifestAndRepository, printJson } from '../command-kit';
import { formatBytes } from '../output';

export function register(program: Command): void {
  program
    .command('prune <manifest>')
    .description('delete the data no backup references (of any application in the repository); crash-safe')
    .option('--dry-run', 'show what would be deleted, and delete nothing')
    .addOption(json())
    .action(
      action(async (file: string, opts) => {
        const { repo } = await manifestAndRepository(file);
        const report = await prune(repo, { dryRun: opts.dryRun === true });
        await repo.close();
        if (opts.json) return printJson(report);
        console.log(pruneSummary(report));
      }),
    );
}

function pruneSummary(r: PruneReport): string {
  const verb = r.dryRun ? 'would' : '';
  return [
    `packs: ${r.packs.before} before; ${r.packs.deleted} ${verb || ''} deleted, ${r.packs.repacked} ${verb} rewritten` +
      (r.packs.recovered ? `, ${r.packs.recovered} lost from the index and indexed again` : ''),
    `bytes: ${formatBytes(r.bytes.before)} before, ${formatBytes(r.bytes.after)} after: ${formatBytes(r.bytes.freed)} ${r.dryRun ? 'to free' : 'freed'}`,
  ]
    .map((line) => line.replace(/ {2,}/g, ' '))
    .join('\n');
}
