/** Application-wide hooks around a whole run, and what their failures do to its outcome. */
import type { AppHookName } from '../model/manifest';
import { hookBlocks, hookFailure, runHook } from './hooks';
import { recordOutcome } from './outcome';
import type { AppSpec, HookRecord, NodeOutcome, PartitionPlan, RunResult } from './types';

export class AppHooks {
  private readonly records: HookRecord[] = [];

  constructor(
    private readonly spec: AppSpec,
    private readonly plan: PartitionPlan,
  ) {}

  async run(event: AppHookName): Promise<HookRecord | undefined> {
    const hook = this.spec.hooks?.[event];
    const record = await runHook(event, hook, this.plan.context, this.plan.options.heartbeatTimeoutSeconds);
    if (record) this.records.push(record);
    return record;
  }

  /**
   * The run's outcome from its services, except that a blocking app hook fails the run
   * (the snapshots it took stay in the catalog).
   */
  outcome(
    outcomes: Record<string, NodeOutcome>,
    records: (HookRecord | undefined)[],
  ): Pick<RunResult, 'outcome' | 'reason' | 'hooks'> {
    const blocked = records.find(hookBlocks);
    const outcome = recordOutcome(outcomes, blocked ? 'failed' : undefined);
    return {
      outcome,
      reason: blocked ? hookFailure(blocked) : undefined,
      hooks: this.records.length > 0 ? this.records : undefined,
    };
  }
}

export function failAll(services: string[], reason: string): Record<string, NodeOutcome> {
  return Object.fromEntries(services.map((s) => [s, { status: 'failed', reason } as NodeOutcome]));
}
