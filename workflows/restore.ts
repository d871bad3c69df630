import { ApplicationFailure, patched, workflowInfo } from '@temporalio/workflow';
import { awaitApproval } from './approval';
import type { BackupEntry } from '../repository/records/catalog';
import { AppHooks, failAll } from './app-hooks';
import { hookBlocks, hookFailure } from './hooks';
import {
  type RestoreSelection,
  dependenciesWithin,
  overwritesProduction,
  selectRestore,
} from '../model/restore-selection';
import { recordOutcome, recordServices } from './outcome';
import { runPlan } from './partition';
import { functionsToQuiesce, withFunctionsQuiesced } from './function-steps';
import { catalogActivities, resolveBackupFor } from './catalog-steps';
import { targetProblems } from './sandbox';
import { RunState } from './run-state';
import {
  AppSpec,
  NodeOutcome,
  PartitionPlan,
  RestoreInput,
  RunOptions,
  RunResult,
  defaultRunOptions,
} from './types';

/**
 * Restores an application from one backup in dependency order: a service starts only
 * once everything it depends on is restored; independent branches run in parallel. A
 * restore waits for approval unless it was given up front.
 */
export async function restoreApplication(input: RestoreInput): Promise<RunResult> {
  const { spec } = input;
  const options = { ...defaultRunOptions, ...input.options };
  const started = Date.now();
  const selection = selectServices(input);
  const selected = selection.services;
  recordServices(selected);
  const backup = await resolveBackupFor(spec, input.backupId, selected);
  const plan = restorePlan(spec, backup, selected, input.targets ?? {}, options);
  const state = new RunState(selected.length);
  const finish = (
    result: Pick<RunResult, 'outcome' | 'reason' | 'hooks'>,
    services: Record<string, NodeOutcome>,
  ) => ({
    app: spec.app,
    backupId: backup.id,
    ...result,
    durationMs: Date.now() - started,
    services,
  });

  // Runs started before --target restores were checked replay as they ran.
  const targetsChecked = Object.keys(input.targets ?? {}).length > 0 && patched(TARGET_SAFETY);
  if (targetsChecked) await checkTargets(input);
  const refusal = needsApproval(input, selection, targetsChecked)
    ? await awaitApproval(state, input)
    : undefined;
  if (refusal) {
    recordOutcome({}, 'rejected');
    return finish({ outcome: 'rejected', reason: refusal }, failAll(selected, 'not restored: ' + refusal));
  }

  const appHooks = new AppHooks(spec, plan);
  const before = await appHooks.run('before_restore');
  const outcomes = hookBlocks(before)
    ? failAll(selected, hookFailure(before))
    : await withFunctionsQuiesced(plan, spec, functionsToQuiesce(plan, spec), () =>
        runPlan(plan, 'restore', state),
      );
  const after = await appHooks.run('after_restore');
  return finish(appHooks.outcome(outcomes, [before, after]), outcomes);
}

/**
 * Whether the restore waits for `lazarus approve`: one that writes anything, unless
 * approved up front. Before targets were checked (TARGET_SAFETY), a restore whose every
 * store went to a --target did not wait.
 */
function needsApproval(input: RestoreInput, selection: RestoreSelection, targetsChecked: boolean): boolean {
  const writes = targetsChecked
    ? selection.stateful.length > 0
    : overwritesProduction(selection, input.targets ?? {});
  return writes && !input.approved;
}

const TARGET_SAFETY = 'target-restores-checked-and-approved';

/**
 * A --target must be a new place: never production or the repository (checked by the
 * CLI too), and not a store that already holds data unless the user said to replace it.
 */
async function checkTargets(input: RestoreInput): Promise<void> {
  const problems = targetProblems(input.spec, input.targets ?? {});
  if (problems.length > 0)
    throw ApplicationFailure.nonRetryable(`unsafe --target: ${problems.join('; ')}`, 'UnsafeTarget');
  if (input.replaceTargets) return;
  const occupied = await catalogActivities.targetsHoldingData({
    targets: Object.entries(input.targets ?? {}).map(([service, target]) => ({
      service,
      target,
      datastore: input.spec.services[service].datastore!,
    })),
  });
  if (occupied.length > 0)
    throw ApplicationFailure.nonRetryable(
      `--target ${occupied.join(', ')} already holds data; nothing was changed: restore into a new or ` +
        'empty target, or pass --replace-target to replace it (after approval, unless --yes)',
      'TargetHoldsData',
    );
}

/** The restore of `selected` services from `backup`, into `targets` where given. */
export function restorePlan(
  spec: AppSpec,
  backup: BackupEntry,
  selected: string[],
  targets: Record<string, string>,
  options: Required<RunOptions>,
): PartitionPlan {
  return {
    app: spec.app,
    repository: spec.repository,
    members: Object.fromEntries(
      selected.map((s) => [
        s,
        {
          datastore: spec.services[s].datastore,
          ...cacheToFlush(spec, s, selected, targets),
          function: spec.services[s].function,
          version: backup.services[s]?.version,
          snapshot: backup.services[s]?.snapshot,
          target: targets[s],
          hooks: spec.services[s].hooks,
        },
      ]),
    ),
    // Dependencies outside the selection are left as they are: only selected services are touched.
    dependsOn: dependenciesWithin(spec.services, selected),
    options,
    runKey: workflowInfo().workflowId,
    context: { app: spec.app, runId: workflowInfo().workflowId, backupId: backup.id },
  };
}

/**
 * A cache is flushed when a store it fronts is restored over its original; a store
 * restored beside it (a --target, a drill's sandbox) leaves the cache's entries true.
 */
function cacheToFlush(spec: AppSpec, service: string, selected: string[], targets: Record<string, string>) {
  const { cache, depends_on } = spec.services[service];
  const inPlace = depends_on.some((d) => selected.includes(d) && spec.services[d].datastore && !targets[d]);
  return cache && inPlace ? { cache } : {};
}

/** A child of a large restore: restores one slice of services whose dependencies are done. */
export async function restorePartition(plan: PartitionPlan): Promise<Record<string, NodeOutcome>> {
  return runPlan(plan, 'restore');
}

function selectServices(input: RestoreInput): RestoreSelection {
  const all = Object.keys(input.spec.services);
  // An empty list used to mean all of them: a restore of everything over production. (Runs
  // started before the change replay as they ran.)
  if (input.services?.length === 0 && patched('empty-service-list-refused'))
    throw ApplicationFailure.nonRetryable(
      'services: the list names no service; leave it out for all',
      'NoServices',
    );
  if (!input.services || input.services.length === 0) return selectRestore(input.spec.services, {});
  const unknown = input.services.filter((s) => !(s in input.spec.services));
  if (unknown.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `unknown service(s) ${unknown.join(', ')}; known: ${all.join(', ')}`,
      'UnknownService',
    );
  }
  return selectRestore(input.spec.services, {
    services: input.services,
    withDependencies: input.withDependencies,
  });
}
