#!/usr/bin/env node
/**
 * The lazarus command: only the wiring. Each command lives in client/commands/<name>.ts
 * and registers itself; the order below is the order `lazarus --help` lists them in.
 * Exit codes: EXIT in command-kit.ts.
 */
import { Command } from 'commander';
import { EXIT } from './command-kit';
import * as approve from './commands/approve';
import * as backup from './commands/backup';
import * as backups from './commands/backups';
import * as cost from './commands/cost';
import * as demo from './commands/demo';
import * as dev from './commands/dev';
import * as discover from './commands/discover';
import * as drill from './commands/drill';
import * as forget from './commands/forget';
import * as functions from './commands/functions';
import * as hold from './commands/hold';
import * as pitr from './commands/pitr';
import * as plan from './commands/plan';
import * as prune from './commands/prune';
import * as replay from './commands/replay';
import * as report from './commands/report';
import * as restore from './commands/restore';
import * as runs from './commands/runs';
import * as schedule from './commands/schedule';
import * as show from './commands/show';
import * as verify from './commands/verify';
import * as worker from './commands/worker';

const commands = [
  dev,
  worker,
  plan,
  backup,
  restore,
  approve,
  drill,
  report,
  backups,
  runs,
  show,
  verify,
  forget,
  prune,
  hold,
  pitr,
  functions,
  cost,
  schedule,
  discover,
  replay,
  demo,
];

const program = new Command('lazarus')
  .description('Back up, restore and drill whole applications as durable Temporal workflows.')
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(text) })
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT.usage));

for (const command of commands) command.register(program);

program.parseAsync(process.argv).catch((err: Error) => {
  console.error(`lazarus: ${err.message}`);
  process.exit(EXIT.usage);
});
