/** `lazarus backups`: the application's backups in its repository. */
import type { Command } from 'commander';
import { action, json, manifestAndRepository, printJson } from '../command-kit';
import { formatBytes, table } from '../output';

export function register(program: Command): void {
  program
    .command('backups <manifest>')
    .description("list the application's backups in the repository")
    .addOption(json())
    .action(
      action(async (file: string, opts) => {
        const { manifest, repo } = await manifestAndRepository(file);
        const entries = await repo.listBackups(manifest.app);
        if (opts.json) return printJson(entries);
        const rows = entries.map((e) => [
          e.id,
          e.status,
          String(Object.keys(e.services).length),
          formatBytes(Object.values(e.services).reduce((n, s) => n + s.snapshot.size, 0)),
          e.workflowId,
        ]);
        console.log(table(['backup', 'status', 'services', 'size', 'run'], rows));
      }),
    );
}
