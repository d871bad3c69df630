/** `lazarus hold`: legal holds that keep backups from being forgotten. */
import type { Command } from 'commander';
import { UserError } from '../../model/errors';
import { action, backupIdArgument, json, manifestAndRepository, printJson } from '../command-kit';
import { table } from '../output';

export function register(program: Command): void {
  program
    .command('hold')
    .description('put a backup under legal hold (never forgotten, never removed), release it, or list holds')
    .argument('<manifest>', 'the application manifest')
    .argument(
      '[backup]',
      'the backup to hold or release (default: list the holds)',
      backupIdArgument('backup'),
    )
    .option('--reason <text>', 'why it is held (a case, a request)')
    .option('--by <name>', 'who placed the hold', process.env.USER ?? 'unknown')
    .option('--release', 'release the hold')
    .addOption(json())
    .action(
      action(async (file: string, backupId: string | undefined, opts) => {
        const { manifest, repo } = await manifestAndRepository(file);
        if (!backupId) {
          const holds = await repo.listHolds(manifest.app);
          if (opts.json) return printJson(holds);
          const rows = Object.entries(holds).map(([id, h]) => [id, h.reason, h.by, h.placedAt]);
          return console.log(
            rows.length ? table(['backup', 'reason', 'by', 'placed'], rows) : 'no backup is under legal hold',
          );
        }
        if (opts.release) {
          await repo.releaseHold(manifest.app, backupId);
          return opts.json
            ? printJson({ released: backupId })
            : console.log(`released the hold on ${backupId}`);
        }
        if (!opts.reason)
          throw new UserError('--reason: say why the backup is held (a case number, a request)');
        const hold = await repo.placeHold(manifest.app, backupId, { reason: opts.reason, by: opts.by });
        if (opts.json) printJson({ backup: backupId, ...hold });
        else console.log(`${backupId} is under legal hold: ${hold.reason}`);
      }),
    );
}
