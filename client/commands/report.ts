/** `lazarus report`: a drill's report as JSON and HTML, from its run or from the repository. */
import type { Command } from 'commander';
import { UserError } from '../../model/errors';
import { connectClient, settingsFromEnv } from '../../temporal/settings';
import type { DrillReport } from '../../workflows/drill-report';
import { action, json, manifestAndRepository, printJson } from '../command-kit';
import { writeDrillReport } from '../drill-html';

export function register(program: Command): void {
  program
    .command('report <workflowId>')
    .description("write a drill's report as JSON and as an HTML page")
    .option('--out <dir>', 'directory to write into', '.')
    .option(
      '--manifest <file>',
      "read it from this application's repository (when the run's history is gone)",
    )
    .addOption(json())
    .action(
      action(async (workflowId: string, opts) => {
        const report = opts.manifest
          ? await reportFromRepository(opts.manifest, workflowId)
          : await reportFromRun(workflowId);
        if (opts.json) return printJson(report);
        const files = await writeDrillReport(report, opts.out);
        console.log(`${files.html}\n${files.json}`);
      }),
    );
}

async function reportFromRun(workflowId: string): Promise<DrillReport> {
  const client = await connectClient(settingsFromEnv());
  const result = await client.workflow
    .getHandle(workflowId)
    .result()
    .catch((err: Error) => {
      throw new UserError(
        `no finished drill with ID "${workflowId}" (${err.message}); a drill's report is also kept in ` +
          'its repository: add --manifest <file>',
      );
    });
  const report = result as DrillReport;
  if (report?.kind !== 'drill')
    throw new UserError(`${workflowId} is not a drill; reports are written for drills`);
  return report;
}

async function reportFromRepository(file: string, workflowId: string): Promise<DrillReport> {
  const { manifest, repo } = await manifestAndRepository(file);
  const report = await repo.findDrillReport<DrillReport>(manifest.app, workflowId);
  if (!report) throw new UserError(`no report of drill "${workflowId}" in ${manifest.repository.location}`);
  return report;
}
