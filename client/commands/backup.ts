/** `lazarus backup`: snapshots every datastore as one run. */
import type { Command } from 'commander';
import { appSpec } from '../../model/app-spec';
import { loadManifest } from '../../config/load-manifest';
import { action, concurrency, json, runOptions } from '../command-kit';
import { execute, printRunResult } from '../execute';

export function register(program: Command): void {
  program
    .command('backup <manifest>')
    .description('snapshot every datastore of the application and record one catalog entry')
    .addOption(concurrency())
    .option('--no-wait', 'print the run ID and return at once')
    .addOption(json())
    .action(
      action(async (file: string, opts) => {
        const spec = appSpec(loadManifest(file));
        await execute(
          opts,
          { operation: 'backup', input: { spec, options: runOptions(opts) } },
          printRunResult,
        );
      }),
    );
}
