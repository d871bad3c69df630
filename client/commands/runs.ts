/** `lazarus runs`: recent runs, filtered on the search attributes the Web UI filters on too. */
import { type Command, Option } from 'commander';
import { operations } from '../../contracts/operations';
import { outcomeKey } from '../../contracts/search-attributes';
import { connectClient, settingsFromEnv } from '../../temporal/settings';
import { action, json, positiveInt, printJson } from '../command-kit';
import { table } from '../output';

export function register(program: Command): void {
  program
    .command('runs')
    .description('list recent runs')
    .option('--app <name>', 'only this application')
    .addOption(new Option('--kind <kind>', 'only this kind of run').choices(operations))
    .option('--failed', 'only runs that failed, were partial or rejected, or did not complete')
    .option('--limit <n>', 'at most this many', positiveInt, 20)
    .addOption(json())
    .action(
      action(async (opts) => {
        const settings = settingsFromEnv();
        const client = await connectClient(settings);
        const query = runQuery(opts);
        const rows: { workflowId: string; status: string; outcome: string; start: string; type: string }[] =
          [];
        for await (const wf of client.workflow.list({ query })) {
          rows.push({
            workflowId: wf.workflowId,
            status: wf.status.name,
            outcome: String(wf.typedSearchAttributes.get(outcomeKey) ?? ''),
            start: wf.startTime.toISOString(),
            type: wf.type,
          });
          if (rows.length >= opts.limit) break;
        }
        if (opts.json) return printJson(rows);
        console.log(
          table(
            ['run', 'type', 'status', 'outcome', 'started'],
            rows.map((r) => [r.workflowId, r.type, r.status, r.outcome, r.start]),
          ),
        );
      }),
    );
}

/** The visibility query for the flags. */
function runQuery(opts: { app?: string; kind?: string; failed?: boolean }): string {
  const filters = [
    opts.app && `LazarusApp = "${opts.app}"`,
    opts.kind && `LazarusKind = "${opts.kind}"`,
    opts.failed &&
      '(LazarusOutcome IN ("failed", "partial", "rejected") OR ExecutionStatus IN ("Failed", "TimedOut", "Terminated", "Canceled"))',
  ].filter(Boolean);
  return filters.length > 0 ? filters.join(' AND ') : 'LazarusApp IS NOT NULL';
}
