/** `lazarus approve` and `lazarus reject`: the decision a restore over the originals waits for. */
import type { Command } from 'commander';
import { UserError } from '../../model/errors';
import { connectClient, settingsFromEnv } from '../../temporal/settings';
import { approveSignal, rejectSignal } from '../../workflows/approval';
import { progressQuery } from '../../workflows/run-state';
import { action } from '../command-kit';

export function register(program: Command): void {
  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(`${decision} <workflowId>`)
      .description(`${decision} a restore that waits to overwrite the original targets`)
      .option('--by <name>', 'who decided, for the record', process.env.USER)
      .option('--reason <text>', 'why (recorded with a rejection)')
      .action(
        action(async (workflowId: string, opts) => {
          const client = await connectClient(settingsFromEnv());
          const handle = client.workflow.getHandle(workflowId);
          const progress = await handle.query(progressQuery).catch(() => {
            throw new UserError(`no running restore with ID "${workflowId}"`);
          });
          if (!progress.awaitingApproval) throw new UserError(`${workflowId} is not waiting for approval`);
          await handle.signal(decision === 'approve' ? approveSignal : rejectSignal, {
            by: opts.by,
            reason: opts.reason,
          });
          console.log(`${decision === 'approve' ? 'approved' : 'rejected'}: ${workflowId}`);
        }),
      );
  }
}
