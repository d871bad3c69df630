/** `lazarus show`: a run's outcome per service, or its live progress. */
import type { Command } from 'commander';
import { UserError } from '../../model/errors';
import { connectClient, settingsFromEnv } from '../../temporal/settings';
import type { DrillReport } from '../../workflows/drill-report';
import { progressQuery } from '../../workflows/run-state';
import type { RunResult } from '../../workflows/types';
import { action, json, printJson } from '../command-kit';
import { drillSummary } from '../drill-summary';
import { runTable } from '../output';

export function register(program: Command): void {
  program
    .command('show <workflowId>')
    .description("show a run's outcome per service (or its live progress)")
    .addOption(json())
    .action(
      action(async (workflowId: string, opts) => {
        const client = await connectClient(settingsFromEnv());
        const handle = client.workflow.getHandle(workflowId);
        const description = await handle.describe().catch(() => {
          throw new UserError(`no run with ID "${workflowId}"`);
        });
        const running = description.status.name === 'RUNNING';
        const result = running
          ? await handle.query(progressQuery)
          : await handle.result().catch((e: Error) => e);
        if (opts.json)
          return printJson({
            workflowId,
            status: description.status.name,
            result: result instanceof Error ? result.message : result,
          });
        console.log(`${workflowId}: ${description.status.name}`);
        if (result instanceof Error) return console.log(result.message);
        const report = result as DrillReport;
        console.log(
          report.kind === 'drill' && !running ? drillSummary(report) : runTable(result as RunResult),
        );
      }),
    );
}
