/**
 * A disaster-recovery drill: restores a backup into a sandbox (never a production
 * target), runs each service's validators on its copy, measures RTO and RPO against the
 * tiers' targets, and always tears the sandbox down, also when a step failed or the run
 * was cancelled. The report is the run's result, and is kept in the repository too, where
 * it outlives the run's history.
 */
import { ApplicationFailure, CancellationScope, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { recordOutcome, recordServices } from './outcome';
import { runPlan } from './partition';
import { catalogActivities, resolveBackupFor } from './catalog-steps';
import { teardownStep, validateStep } from './activity-options';
import { stagingId, stepId } from '../contracts/ids';
import { restorePlan } from './restore';
import { RunState } from './run-state';
import { sandboxFor } from './sandbox';
import { buildDrillReport, type DrillReport, type Validation } from './drill-report';
import { rootMessage } from '../model/errors';
import { type AppSpec, type NodeOutcome, type RunOptions, defaultRunOptions } from './types';

export interface DrillInput {
  spec: AppSpec;
  /** Default: the latest verified backup. */
  backupId?: string;
  options?: RunOptions;
}

export async function drillApplication(input: DrillInput): Promise<DrillReport> {
  const options = { ...defaultRunOptions, ...input.options };
  const workflowId = workflowInfo().workflowId;
  const startedAt = Date.now();
  const sandbox = sandboxFor(input.spec, stagingId(workflowId, 'drill'));
  if (sandbox.problems.length > 0) {
    throw ApplicationFailure.nonRetryable(`unsafe sandbox: ${sandbox.problems.join('; ')}`, 'UnsafeSandbox');
  }
  // Hooks are for production restores: a drill never restarts or notifies the real application.
  const spec: AppSpec = { ...input.spec, hooks: {}, services: withoutHooks(input.spec) };
  const services = Object.keys(spec.services).sort();
  recordServices(services);
  const backup = await resolveBackupFor(spec, input.backupId, services);
  const plan = restorePlan(spec, backup, services, sandbox.targets, options);
  const validations: Record<string, { startedAt: string; finishedAt: string; results: Validation[] }> = {};
  // Each service is validated as soon as its own copy is restored: its RTO ends there.
  const state = new ValidatingState(
    services.length,
    (s, o) =>
      (spec.services[s].validate ?? []).length > 0 && (o.status === 'succeeded' || o.status === 'stateless'),
    (service) =>
      validate(spec, service, plan.members[service].snapshot, sandbox.targets[service], options).then(
        (result) => void (validations[service] = result),
      ),
  );

  let outcomes: Record<string, NodeOutcome> = {};
  let teardownProblems: string[] = [];
  try {
    outcomes = await runPlan(plan, 'restore', state);
    await state.allValidated();
  } finally {
    // Compensation: runs even when the drill was cancelled or a step above threw.
    teardownProblems = await CancellationScope.nonCancellable(() =>
      tearDown(spec, sandbox.targets, sandbox.root, workflowId, options),
    );
  }
  const report = buildDrillReport({
    spec,
    backup,
    workflowId,
    startedAt,
    finishedAt: Date.now(),
    sandboxTargets: sandbox.targets,
    outcomes,
    validations,
    teardownProblems,
  });
  await catalogActivities.saveDrillReport({ repository: spec.repository, report });
  recordOutcome({}, report.outcome);
  return report;
}

/** Progress that also starts a service's validation the moment its restore finishes. */
class ValidatingState extends RunState {
  private readonly pending: Promise<void>[] = [];

  constructor(
    total: number,
    private readonly validatable: (service: string, outcome: NodeOutcome) => boolean,
    private readonly startValidation: (service: string) => Promise<void>,
  ) {
    super(total);
  }

  override finished(outcomes: Record<string, NodeOutcome>): void {
    super.finished(outcomes);
    for (const [service, outcome] of Object.entries(outcomes)) {
      if (this.validatable(service, outcome)) this.pending.push(this.startValidation(service));
    }
  }

  allValidated(): Promise<unknown> {
    return Promise.all(this.pending);
  }
}

function withoutHooks(spec: AppSpec): AppSpec['services'] {
  return Object.fromEntries(
    Object.entries(spec.services).map(([name, s]) => [name, { ...s, hooks: undefined }]),
  );
}

async function validate(
  spec: AppSpec,
  service: string,
  snapshot: NodeOutcome['snapshot'],
  target: string | undefined,
  options: Required<RunOptions>,
) {
  const activityId = stepId('validate', service);
  const activities = proxyActivities<Activities>(validateStep(options, activityId));
  try {
    const { results, startedAt, finishedAt } = await activities.validateService({
      repository: spec.repository,
      service,
      datastore: spec.services[service].datastore,
      target,
      snapshot,
      validators: spec.services[service].validate ?? [],
      context: { app: spec.app, runId: workflowInfo().workflowId },
    });
    return { startedAt, finishedAt, results };
  } catch (err) {
    const now = new Date().toISOString();
    return {
      startedAt: now,
      finishedAt: now,
      results: [{ check: 'validators', ok: false, detail: rootMessage(err as Error) }],
    };
  }
}

/** Removes every sandbox copy (and staging left by a failed restore), then the sandbox directory. */
async function tearDown(
  spec: AppSpec,
  targets: Record<string, string>,
  root: string,
  workflowId: string,
  options: Required<RunOptions>,
): Promise<string[]> {
  const activities = proxyActivities<Activities>(teardownStep(options));
  const problems: string[] = [];
  await Promise.all(
    Object.entries(targets).map(async ([service, target]) => {
      try {
        const { function: fn, datastore } = spec.services[service];
        if (fn)
          await activities.tearDownFunction({
            repository: spec.repository,
            app: spec.app,
            service,
            function: fn,
            target,
          });
        else
          await activities.tearDownSandbox({
            datastore: datastore!,
            target,
            stagingId: stagingId(workflowId, service),
          });
      } catch (err) {
        problems.push(`${service} (${target}): ${rootMessage(err as Error)}`);
      }
    }),
  );
  try {
    await activities.removeSandboxRoot({ root });
  } catch (err) {
    problems.push(`${root}: ${rootMessage(err as Error)}`);
  }
  return problems;
}
