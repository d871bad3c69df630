import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import { withDependencies } from '../model/graph';
import { recordOutcome, recordServices } from './outcome';
import { catalog, runPartition, runPlan } from './partition';
import { RunState } from './run-state';
import { NodeOutcome, PartitionPlan, RestoreInput, RunResult, defaultRunOptions } from './types';

/**
 * Restores an application from one backup in dependency order: a service starts only
 * once everything it depends on is restored; independent branches run in parallel.
 */
export async function restoreApplication(input: RestoreInput): Promise<RunResult> {
  const { spec } = input;
  const options = { ...defaultRunOptions, ...input.options };
  const started = Date.now();
  const selected = selectServices(input);
  recordServices(selected);
  const backup = await catalog.resolveBackup({
    repository: spec.repository,
    app: spec.app,
    backupId: input.backupId,
  });

  const chosen = new Set(selected);
  const plan: PartitionPlan = {
    app: spec.app,
    repository: spec.repository,
    members: Object.fromEntries(
      selected.map((s) => [
        s,
        {
          datastore: spec.services[s].datastore,
          snapshot: backup.services[s]?.snapshot,
          target: input.targets?.[s],
        },
      ]),
    ),
    // Dependencies outside the selection are left as they are: only selected services are touched.
    dependsOn: Object.fromEntries(
      selected.map((s) => [s, spec.services[s].depends_on.filter((d) => chosen.has(d))]),
    ),
    options,
    runKey: workflowInfo().workflowId,
  };
  const state = new RunState(selected.length);
  const outcomes = await runPlan(plan, 'restore', state);

  const outcome = recordOutcome(outcomes);
  return {
    app: spec.app,
    backupId: backup.id,
    outcome,
    durationMs: Date.now() - started,
    services: outcomes,
  };
}

/** A child of a large restore: restores one slice of services whose dependencies are done. */
export async function restorePartition(plan: PartitionPlan): Promise<Record<string, NodeOutcome>> {
  return runPartition(plan, 'restore');
}

function selectServices(input: RestoreInput): string[] {
  const all = Object.keys(input.spec.services);
  if (!input.services || input.services.length === 0) return all.sort();
  const unknown = input.services.filter((s) => !(s in input.spec.services));
  if (unknown.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `unknown service(s) ${unknown.join(', ')}; known: ${all.join(', ')}`,
      'UnknownService',
    );
  }
  return input.withDependencies
    ? withDependencies(input.spec.services, input.services)
    : [...input.services].sort();
}
