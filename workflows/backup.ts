import { workflowInfo } from '@temporalio/workflow';
import type { BackupEntry } from '../repository/catalog';
import { catalog, runPartition, runPlan } from './partition';
import { RunState } from './run-state';
import { BackupInput, NodeOutcome, PartitionPlan, RunResult, defaultRunOptions, type AppSpec } from './types';
import { recordOutcome, recordServices } from './outcome';

/** Snapshots every datastore of an application, verifies each, and records one catalog entry. */
export async function backupApplication(input: BackupInput): Promise<RunResult> {
  const { spec } = input;
  const options = { ...defaultRunOptions, ...input.options };
  const startedAt = new Date();
  const backupId = startedAt.toISOString().replace(/[-:]/g, '');
  const stateful = Object.keys(spec.services).filter((s) => spec.services[s].datastore);
  const state = new RunState(Object.keys(spec.services).length);
  state.finished(statelessOutcomes(spec));
  recordServices(stateful);

  const plan: PartitionPlan = {
    app: spec.app,
    repository: spec.repository,
    members: Object.fromEntries(stateful.map((s) => [s, { datastore: spec.services[s].datastore }])),
    dependsOn: Object.fromEntries(stateful.map((s) => [s, []])),
    options,
    runKey: workflowInfo().workflowId,
  };
  const outcomes = await runPlan(plan, 'snapshot', state);
  const entry = catalogEntry(spec, backupId, startedAt, outcomes);
  if (Object.keys(entry.services).length > 0)
    await catalog.saveBackup({ repository: spec.repository, entry });

  const outcome = recordOutcome(outcomes);
  return {
    app: spec.app,
    backupId,
    outcome,
    durationMs: Date.now() - startedAt.getTime(),
    services: state.progress().services,
  };
}

/** A child of a large backup: snapshots one slice of the services. */
export async function backupPartition(plan: PartitionPlan): Promise<Record<string, NodeOutcome>> {
  return runPartition(plan, 'snapshot');
}

function statelessOutcomes(spec: AppSpec): Record<string, NodeOutcome> {
  return Object.fromEntries(
    Object.keys(spec.services)
      .filter((s) => !spec.services[s].datastore)
      .map((s) => [s, { status: 'stateless' } as NodeOutcome]),
  );
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
    const kind = spec.services[service].datastore?.kind ?? 'none';
    if (outcome.status === 'succeeded' && outcome.snapshot && outcome.takenAt) {
      entry.services[service] = {
        kind,
        snapshot: outcome.snapshot,
        takenAt: outcome.takenAt,
        verified: true,
      };
    } else {
      entry.failures[service] = outcome.reason ?? outcome.status;
      entry.status = 'partial';
    }
  }
  return entry;
}
