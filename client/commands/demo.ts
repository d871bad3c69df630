/** `lazarus demo`: the shop example end to end, loaded only when asked for. */
import type { Command } from 'commander';
import { action } from '../command-kit';

export function register(program: Command): void {
  program
    .command('demo')
    .description('run the shop example end to end: seed, back up, verify, break, restore, compare')
    .option(
      '--with-servers',
      'add PostgreSQL, MariaDB, Redis, RabbitMQ and NATS services (needs those servers locally) and MongoDB (FerretDB, built with Go once)',
    )
    .option('--keep-open', 'keep the dev server and Web UI running at the end')
    .action(
      action(async (opts) =>
        (await import('../demo')).runDemo({
          withServers: Boolean(opts.withServers),
          keepOpen: Boolean(opts.keepOpen),
        }),
      ),
    );
}
