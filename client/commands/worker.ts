/** `lazarus worker`: runs the workflows and activities against TEMPORAL_ADDRESS. */
import type { Command } from 'commander';
import { DEFAULT_STALL_TIMEOUT_MS } from '../../repository/engine/streams';
import { action, positiveInt } from '../command-kit';

export function register(program: Command): void {
  program
    .command('worker')
    .description('run a worker against TEMPORAL_ADDRESS (default 127.0.0.1:7233)')
    .option('--rate-limit <bytes>', 'bytes per second per snapshot or restore stream', positiveInt)
    .option('--max-activities <n>', 'snapshot and restore steps run at once by this worker', positiveInt, 8)
    .option(
      '--stall-timeout <seconds>',
      'fail a step whose datastore or repository sends nothing for this long (then retried)',
      positiveInt,
      DEFAULT_STALL_TIMEOUT_MS / 1000,
    )
    .action(
      action(async (opts) =>
        (await import('../serve')).runWorker({
          rateLimit: opts.rateLimit,
          maxConcurrentActivities: opts.maxActivities,
          stallTimeoutMs: opts.stallTimeout * 1000,
        }),
      ),
    );
}
