/** `lazarus dev`: a local Temporal dev server and a worker, loaded only when asked for. */
import type { Command } from 'commander';
import { action, positiveInt } from '../command-kit';

export function register(program: Command): void {
  program
    .command('dev')
    .description('start a local Temporal dev server (SQLite file, Web UI) and a worker')
    .option('--state-dir <dir>', 'where the server keeps its database', '.lazarus/dev')
    .option('--port <port>', 'gRPC port of the server', positiveInt, 7233)
    .option('--ui-port <port>', 'port of the Web UI', positiveInt, 8233)
    .action(action(async (opts) => (await import('../serve')).runDev(opts)));
}
