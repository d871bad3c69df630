/**
 * Function workflows: a code-only rollback (one recorded version deployed and probed),
 * and the watcher that records a new version whenever a function's code or configuration
 * changes between backups, so an accidental change can always be undone to the version
 * just before it. Workflow ID of the watcher: `functions-watch/<app>`.
 */
import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { stepId } from '../contracts/ids';
import { rootMessage } from '../model/errors';
import { dataStep } from './activity-options';
import { functionStepInput, runFunctionStep } from './function-steps';
import { type AppSpec, type PartitionPlan, type RunResult, defaultRunOptions } from './types';

export interface RollbackFunctionInput {
  spec: AppSpec;
  service: string;
  version: string;
  /** The backup the version was taken from, when the user named one. */
  backupId?: string;
}

/** Deploys one recorded version of a function and checks its answer; its data is left as it is. */
export async function rollbackFunction(input: RollbackFunctionInput): Promise<RunResult> {
  const started = Date.now();
  const plan = singleFunctionPlan(input.spec, input.service, input.version);
  const outcome = await runFunctionStep(plan, 'restore', input.service);
  return {
    app: input.spec.app,
    backupId: input.backupId ?? '',
    outcome: outcome.status === 'succeeded' ? 'succeeded' : 'failed',
    durationMs: Date.now() - started,
    services: { [input.service]: outcome },
    reason: outcome.reason,
  };
}

function singleFunctionPlan(spec: AppSpec, service: string, version?: string): PartitionPlan {
  const { workflowId } = workflowInfo();
  return {
    app: spec.app,
    repository: spec.repository,
    members: { [service]: { function: spec.services[service].function, version } },
    dependsOn: { [service]: [] },
    options: defaultRunOptions,
    runKey: workflowId,
    context: { app: spec.app, runId: workflowId },
  };
}

export interface WatchFunctionsInput {
  spec: AppSpec;
  /** How often each function is looked at (the shortest of their `watch_every`). */
  everyMs: number;
  /** Looks taken by earlier runs of this chain (continue-as-new). */
  looks?: number;
}

export interface WatchStatus {
  looks: number;
  /** service -> the version last seen live, when, and the last failure to look, if any. */
  functions: Record<string, { version?: string; seenAt?: string; newVersions: number; problem?: string }>;
  stopping: boolean;
}

export const stopWatchingSignal = defineSignal('stopWatchingFunctions');
export const watchStatusQuery = defineQuery<WatchStatus>('functionsWatchStatus');

/** Looks per run before continuing as new: keeps the history short. */
const LOOKS_PER_RUN = 200;

export async function watchFunctions(input: WatchFunctionsInput): Promise<WatchStatus> {
  const functions = Object.keys(input.spec.services).filter((s) => input.spec.services[s].function);
  const status: WatchStatus = {
    looks: input.looks ?? 0,
    functions: Object.fromEntries(functions.map((s) => [s, { newVersions: 0 }])),
    stopping: false,
  };
  setHandler(stopWatchingSignal, () => void (status.stopping = true));
  setHandler(watchStatusQuery, () => status);
  for (let look = 0; look < LOOKS_PER_RUN && !status.stopping; look++) {
    await Promise.all(functions.map((s) => lookAt(input.spec, s, status)));
    status.looks++;
    if (await condition(() => status.stopping, input.everyMs)) break;
    if (workflowInfo().continueAsNewSuggested) break;
  }
  if (status.stopping) return status;
  return continueAsNew<typeof watchFunctions>({ ...input, looks: status.looks });
}

/** Captures one function's live version; a version not seen before is recorded by the capture itself. */
async function lookAt(spec: AppSpec, service: string, status: WatchStatus): Promise<void> {
  const plan = singleFunctionPlan(spec, service);
  const activities = proxyActivities<Activities>({
    ...dataStep({ ...defaultRunOptions, maxAttempts: 3 }, stepId('watch', service, String(status.looks))),
  });
  const seen = status.functions[service];
  try {
    const out = await activities.captureFunction({
      ...functionStepInput(plan, service),
      source: 'watch',
      lockOwner: workflowInfo().workflowId,
    });
    seen.version = out.version;
    seen.seenAt = out.takenAt;
    seen.problem = undefined;
    if (out.recorded) seen.newVersions++;
  } catch (err) {
    // The function may be mid-deploy or its host down: say so, and look again next time.
    seen.problem = rootMessage(err as Error);
  }
}
