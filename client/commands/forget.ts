/** `lazarus forget`: the retention policy's plan, applied with --apply. */
import type { Command } from 'commander';
import type { Manifest } from '../../model/manifest';
import { type ForgetPlan, planForget } from '../../repository/maintenance/forget';
import type { Repository } from '../../repository/repository';
import { action, json, manifestAndRepository, printJson } from '../command-kit';
import { formatDuration, table } from '../output';
import { capturedServices } from '../../model/captured';
import { streamRetention } from '../../model/timeline';

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
        const streams = await forgetStreams(manifest, repo, opts.apply === true);
        if (opts.json) return printJson({ ...plan, streams, applied: opts.apply === true });
        printStreams(streams, opts.apply === true);
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

/** Each captured stream's recovery window applied: old bases with the log only they needed. */
async function forgetStreams(manifest: Manifest, repo: Repository, apply: boolean) {
  const captured = capturedServices(manifest);
  const out = [];
  for (const { service, policy } of captured) {
    const [bases, logs] = await Promise.all([
      repo.streams.bases(manifest.app, service),
      repo.streams.logs(manifest.app, service),
    ]);
    const plan = streamRetention(bases, logs, policy.window, Date.now());
    if (apply) {
      for (const b of plan.removeBases) await repo.streams.removeBase(manifest.app, service, b.id);
      for (const l of plan.removeLogs) await repo.streams.removeLog(manifest.app, service, l);
    }
    out.push({
      service,
      window: policy.window,
      removeBases: plan.removeBases.map((b) => b.id),
      removeLogs: plan.removeLogs.map((l) => l.name),
      restorableFrom: plan.restorableFrom,
    });
  }
  return out;
}

function printStreams(streams: Awaited<ReturnType<typeof forgetStreams>>, apply: boolean) {
  for (const s of streams) {
    if (s.removeBases.length + s.removeLogs.length === 0) continue;
    console.log(
      `stream ${s.service}: ${apply ? 'removed' : 'would remove'} ${s.removeBases.length} bases and ${s.removeLogs.length} log files older than its ${formatDuration(s.window)} window; restorable from ${s.restorableFrom ?? '-'}`,
    );
  }
}

async function forgetPlan(manifest: Manifest, repo: Repository): Promise<ForgetPlan> {
  return planForget(await repo.listBackups(manifest.app), {
    app: manifest.app,
    serviceTiers: Object.fromEntries(Object.entries(manifest.services).map(([name, s]) => [name, s.tier])),
    tiers: manifest.tiers,
    held: new Set(Object.keys(await repo.listHolds(manifest.app))),
  });
}
