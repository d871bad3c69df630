/** `lazarus forget`: the retention policy's plan, applied with --apply. */
import type { Command } from 'commander';
import type { Manifest } from '../../model/manifest';
import { type ForgetPlan, planForget } from '../../repository/maintenance/forget';
import type { Repository } from '../../repository/repository';
import { action, json, manifestAndRepository, printJson } from '../command-kit';
import { table } from '../output';

export function register(program: Command): void {
  program
    .command('forget <manifest>')
    .description("apply each tier's retention rules to the application's backups; a dry run unless --apply")
    .option('--apply', 'remove the backups the rules do not keep (their data goes at the next prune)')
    .addOption(json())
    .action(
      action(async (file: string, opts) => {
        const { manifest, repo } = await manifestAndRepository(file);
        const plan = await forgetPlan(manifest, repo);
        if (opts.apply) for (const b of plan.remove) await repo.removeBackup(manifest.app, b.id);
        if (opts.json) return printJson({ ...plan, applied: opts.apply === true });
        console.log(
          table(
            ['backup', 'taken', 'decision', 'why'],
            [
              ...plan.keep.map((b) => [b.id, b.startedAt, 'keep', b.reasons.join('; ')]),
              ...plan.remove.map((b) => [b.id, b.startedAt, opts.apply ? 'removed' : 'would remove', '']),
            ].sort((a, b) => b[1].localeCompare(a[1])),
          ),
        );
        console.log(
          opts.apply
            ? `removed ${plan.remove.length} backups; run "lazarus prune" to free their space`
            : `${plan.remove.length} of ${plan.keep.length + plan.remove.length} backups would go: add --apply to remove them`,
        );
      }),
    );
}

async function forgetPlan(manifest: Manifest, repo: Repository): Promise<ForgetPlan> {
  return planForget(await repo.listBackups(manifest.app), {
    app: manifest.app,
    serviceTiers: Object.fromEntries(Object.entries(manifest.services).map(([name, s]) => [name, s.tier])),
    tiers: manifest.tiers,
    held: new Set(Object.keys(await repo.listHolds(manifest.app))),
  });
}
