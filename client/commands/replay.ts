/** `lazarus replay`: fetch histories and replay them against this version's workflow code. */
import type { Command } from 'commander';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { UserError } from '../../model/errors';
import { connectClient, settingsFromEnv } from '../../temporal/settings';
import { type ReplayOutcome, historyFile, replayHistories } from '../../worker/replay';
import { installQuietRuntime } from '../../worker/create-worker';
import { EXIT, action, json, printJson } from '../command-kit';
import { table } from '../output';

interface ReplayOptions {
  query?: string;
  file?: string[];
  limit: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('replay [workflowId]')
    .description(
      "replay runs' histories against this version's workflow code and report any non-determinism (a change that would break runs in flight)",
    )
    .option(
      '--query <query>',
      'every run a visibility query matches, e.g. \'LazarusApp="shop" AND LazarusKind="backup"\'',
    )
    .option(
      '--file <history.json...>',
      'histories exported by the Web UI, `temporal workflow show -o json` or `npm run histories:record`',
    )
    .option('--limit <n>', 'with --query: at most this many runs', '100')
    .addOption(json())
    .addHelpText('after', '\nExit codes: 0 every history replays, 1 some do not, 2 bad input.')
    .action(
      action(async (workflowId: string | undefined, opts: ReplayOptions) => runReplay(workflowId, opts)),
    );
}

async function runReplay(workflowId: string | undefined, opts: ReplayOptions): Promise<void> {
  const chosen = [workflowId, opts.query, opts.file ? 'files' : undefined].filter(Boolean).length;
  if (chosen !== 1) throw new UserError('give one of: a workflow ID, --query, or --file');
  const limit = Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UserError(`--limit ${opts.limit}: write a whole number such as 100`);
  installQuietRuntime();
  const outcomes = await replayHistories(await histories(workflowId, opts, limit));
  if (outcomes.length === 0) throw new UserError(`no run matches ${opts.query ?? workflowId}`);
  if (opts.json) printJson(outcomes);
  else printOutcomes(outcomes);
  if (outcomes.some((o) => !o.ok)) process.exitCode = EXIT.runFailed;
}

async function histories(
  workflowId: string | undefined,
  opts: ReplayOptions,
  limit: number,
): Promise<HistoryAndWorkflowId[]> {
  if (opts.file) return opts.file.map(historyFile);
  const client = await connectClient(settingsFromEnv());
  try {
    if (workflowId) {
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      return [{ workflowId, history }];
    }
    const found: HistoryAndWorkflowId[] = [];
    for await (const run of client.workflow
      .list({ query: opts.query, pageSize: Math.min(limit, 100) })
      .intoHistories()) {
      found.push(run);
      if (found.length >= limit) break;
    }
    return found;
  } finally {
    await client.connection.close();
  }
}

function printOutcomes(outcomes: ReplayOutcome[]): void {
  console.log(
    table(
      ['workflow', 'replay', 'detail'],
      outcomes.map((o) => [
        o.workflowId,
        o.ok ? 'ok' : o.nonDeterministic ? 'NON-DETERMINISTIC' : 'failed',
        replayDetail(o.error ?? ''),
      ]),
    ),
  );
  const bad = outcomes.filter((o) => !o.ok).length;
  console.log(
    bad === 0
      ? `${outcomes.length} histories replay with this code`
      : `${bad} of ${outcomes.length} histories do not replay`,
  );
}

/** The SDK wraps the core's message ("[TMPRL1100] Nondeterminism error: Timer machine...") in generic text. */
function replayDetail(error: string): string {
  const core = /message: "([^"]*)"/.exec(error)?.[1] ?? error.replace(/^[^]*?Details: /, '');
  return core.split('\n')[0].slice(0, 200);
}
