import { ApplicationFailure, CancellationScope, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BackupEntry } from '../repository/records/catalog';
import { runPlan } from './partition';
import { catalogActivities } from './catalog-steps';
import { lockStep } from './activity-options';
import { RunState } from './run-state';
import { BackupInput, NodeOutcome, PartitionPlan, RunResult, defaultRunOptions, type AppSpec } from './types';
import { recordServices } from './outcome';
import { AppHooks, failAll } from './app-hooks';
import { snapshotGroup } from './group';
import { hookBlocks, hookFailure } from './hooks';
import { backupIdAt } from '../contracts/ids';
import { keepsState } from '../model/restore-selection';

/** The repository lock waits out a prune: retried for about an hour. */
const repositoryLock = proxyActivities<Activities>(lockStep);

/**
 * Snapshots every datastore of an application, verifies each, and records one catalog
 * entry. Members of a consistency group are captured together, as of one moment.
 */
export async function backupApplication(input: BackupInput): Promise<RunResult> {
  const { spec } = input;
  const options = { ...defaultRunOptions, ...input.options };
  const startedAt = new Date();
  let backupId = backupIdAt(startedAt);
  const stateful = Object.keys(spec.services).filter((s) => keepsState(spec.services[s]));
  const state = new RunState(Object.keys(spec.services).length);
  state.finished(statelessOutcomes(spec));
  recordServices(stateful);

  const plan: PartitionPlan = {
    app: spec.app,
    repository: spec.repository,
    members: Object.fromEntries(
      stateful.map((s) => {
        const { datastore, hooks } = spec.services[s];
        return [s, { datastore, function: spec.services[s].function, hooks }];
      }),
    ),
    dependsOn: Object.fromEntries(stateful.map((s) => [s, []])),
    options,
    runKey: workflowInfo().workflowId,
    context: { app: spec.app, runId: workflowInfo().workflowId, backupId },
  };
  const appHooks = new AppHooks(spec, plan);
  const lock = { repository: spec.repository, owner: plan.runKey };
  await repositoryLock.lockRepository(lock);
  let before, outcomes, groups;
  try {
    before = await appHooks.run('before_backup');
    ({ outcomes, groups } = hookBlocks(before)
      ? { outcomes: failAll(stateful, hookFailure(before)), groups: [] }
      : await snapshotAll(spec, plan, state));
    state.finished(outcomes);
    const entry = catalogEntry(spec, backupId, startedAt, outcomes);
    if (Object.keys(entry.services).length > 0) {
      const saved = await catalogActivities.saveBackup({ repository: spec.repository, entry });
      // Another backup started in the same millisecond took the ID: this one is recorded
      // under the next free one. (Histories from before this change carry no result.)
      backupId = saved?.id ?? backupId;
      plan.context.backupId = backupId;
    }
  } finally {
    await CancellationScope.nonCancellable(() => repositoryLock.unlockRepository(lock));
  }
  const after = await appHooks.run('after_backup');

  const result: RunResult = {
    app: spec.app,
    backupId,
    ...appHooks.outcome(outcomes, [before, after]),
    durationMs: Date.now() - startedAt.getTime(),
    services: state.progress().services,
    groups,
  };
  if (input.failWhenFailed && result.outcome === 'failed')
    throw ApplicationFailure.nonRetryable(
      `backup of ${spec.app} failed: ${result.reason ?? failedServices(result)}`,
      'BackupFailed',
      result,
    );
  return result;
}

function failedServices(result: RunResult): string {
  return Object.entries(result.services)
    .filter(([, o]) => o.status === 'failed')
    .map(([s, o]) => `${s}: ${o.reason ?? 'failed'}`)
    .join('; ');
}

/** Groups, each as one activity, alongside every service outside a group. */
async function snapshotAll(spec: AppSpec, plan: PartitionPlan, state: RunState) {
  const groups = Object.entries(spec.consistencyGroups ?? {});
  const grouped = new Set(groups.flatMap(([, g]) => g.members));
  const alone = Object.keys(plan.members).filter((s) => !grouped.has(s));
  const ungrouped: PartitionPlan = {
    ...plan,
    members: Object.fromEntries(alone.map((s) => [s, plan.members[s]])),
    dependsOn: Object.fromEntries(alone.map((s) => [s, []])),
  };
  const [single, ...groupRuns] = await Promise.all([
    runPlan(ungrouped, 'snapshot', state),
    ...groups.map(([name, group]) => snapshotGroup(name, group, plan, state)),
  ]);
  return {
    outcomes: Object.assign({}, single, ...groupRuns.map((g) => g.outcomes)) as Record<string, NodeOutcome>,
    groups: groupRuns.map((g) => g.result),
  };
}

/** A child of a large backup: snapshots one slice of the services. */
export async function backupPartition(plan: PartitionPlan): Promise<Record<string, NodeOutcome>> {
  return runPlan(plan, 'snapshot');
}

function statelessOutcomes(spec: AppSpec): Record<string, NodeOutcome> {
  return Object.fromEntries(
    Object.keys(spec.services)
      .filter((s) => !keepsState(spec.services[s]))
      .map((s) => [s, { status: 'stateless' } as NodeOutcome]),
  );
}

/** What a catalog entry calls a service's snapshot: its datastore's kind, or `function:<platform>`. */
function kindOf(service: AppSpec['services'][string]): string {
  if (service.function) return `function:${service.function.platform}`;
  return service.datastore?.kind ?? 'none';
}

function catalogEntry(
  spec: AppSpec,
  id: string,
  startedAt: Date,
  outcomes: Record<string, NodeOutcome>,
): BackupEntry {
  const entry: BackupEntry = {
    id,
    app: spec.app,
    workflowId: workflowInfo().workflowId,
    startedAt: startedAt.toISOString(),
    completedAt: new Date().toISOString(),
    status: 'complete',
    services: {},
    failures: {},
    dependsOn: Object.fromEntries(Object.entries(spec.services).map(([s, svc]) => [s, svc.depends_on])),
  };
  for (const [service, outcome] of Object.entries(outcomes)) {
    const kind = kindOf(spec.services[service]);
    if (outcome.status === 'succeeded' && outcome.snapshot && outcome.takenAt) {
      entry.services[service] = {
        kind,
        snapshot: outcome.snapshot,
        takenAt: outcome.takenAt,
        verified: true,
        group: outcome.group,
        position: outcome.position,
        version: outcome.version,
      };
    } else {
      entry.failures[service] = outcome.reason ?? outcome.status;
      entry.status = 'partial';
    }
  }
  return entry;
}
