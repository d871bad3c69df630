/**
 * A drill's activities: validators run against a service's sandbox copy, and the teardown
 * that removes the copy. Both refuse a target that is the service's production store.
 */
import { Context } from '@temporalio/activity';
import { promises as fs } from 'node:fs';
import type { Datastore } from '../model/manifest';
import { type Validator, describeValidator } from '../model/validators';
import type { SnapshotRef } from '../repository/records/catalog';
import type { RepositorySpec } from '../contracts/repository-spec';
import type { SnapshotChecker } from '../repository/repository';
import type { FeatureDeps } from './deps';
import type { HookContext } from './hooks';
import { type StepTiming, timing, withHeartbeats } from './support';

/** The collaborators validators and teardown use. */
type DrillTools = Pick<FeatureDeps, 'adapterFor' | 'runHookOnce'>;

export function drillActivities(deps: Pick<FeatureDeps, 'adapterFor' | 'runHookOnce' | 'repositories'>) {
  return {
    /** Runs a drill's validators against one service's sandbox copy. */
    async validateService(input: ValidateInput): Promise<{ results: ValidationResult[] } & StepTiming> {
      const started = Date.now();
      const repo = await deps.repositories.open(input.repository);
      const results = await withHeartbeats(() =>
        runValidators(deps, input, repo, Context.current().cancellationSignal),
      );
      return { results, ...timing(started) };
    },

    /** Removes a drill's sandbox copy of one service (and any staging its restore left). */
    async tearDownSandbox(input: { datastore: Datastore; target: string; stagingId: string }): Promise<void> {
      await withHeartbeats(() =>
        tearDownCopy(
          deps,
          input.datastore,
          input.target,
          input.stagingId,
          Context.current().cancellationSignal,
        ),
      );
    },

    async removeSandboxRoot(input: { root: string }): Promise<void> {
      await removeSandboxRoot(input.root);
    },
  };
}

export interface ValidationResult {
  check: string;
  ok: boolean;
  detail: string;
}

export interface ValidateInput {
  repository: RepositorySpec;
  service: string;
  datastore?: Datastore;
  target?: string;
  snapshot?: SnapshotRef;
  validators: Validator[];
  context: HookContext;
}

/** The sandbox copy of a production store; never the store itself. */
export function sandboxStore(
  { adapterFor }: Pick<DrillTools, 'adapterFor'>,
  datastore: Datastore,
  target: string,
): Datastore {
  const adapter = adapterFor(datastore);
  const copy = adapter.retarget(datastore, target);
  if (adapter.describe(copy) === adapter.describe(datastore)) {
    throw new Error(`refusing to use ${adapter.describe(copy)} as a sandbox: it is the production store`);
  }
  return copy;
}

export async function runValidators(
  tools: DrillTools,
  input: ValidateInput,
  repo: SnapshotChecker,
  signal: AbortSignal,
): Promise<ValidationResult[]> {
  const store =
    input.datastore && input.target ? sandboxStore(tools, input.datastore, input.target) : undefined;
  return validateCopy(tools, store, input, repo, signal);
}

/** The validators run against a copy already in place (a sandbox store, a recovered scratch server). */
export async function validateCopy(
  tools: DrillTools,
  store: Datastore | undefined,
  input: ValidateInput,
  repo: SnapshotChecker,
  signal: AbortSignal,
): Promise<ValidationResult[]> {
  const results: ValidationResult[] = [];
  for (const validator of input.validators) {
    const check = describeValidator(validator);
    try {
      const { ok, detail } = await validate(tools, validator, store, input, repo, signal);
      results.push({ check, ok, detail });
    } catch (err) {
      results.push({ check, ok: false, detail: (err as Error).message });
    }
  }
  return results;
}

async function validate(
  { adapterFor, runHookOnce }: DrillTools,
  validator: Validator,
  store: Datastore | undefined,
  input: ValidateInput,
  repo: SnapshotChecker,
  signal: AbortSignal,
): Promise<{ ok: boolean; detail: string }> {
  const adapter = store && adapterFor(store);
  if ('sql' in validator) {
    const row = await adapter!.firstRow!(store!, validator.sql);
    if (validator.expect === undefined)
      return { ok: row !== undefined, detail: row ? 'returned a row' : 'no row' };
    const value = row?.[0];
    return { ok: String(value) === String(validator.expect), detail: `got ${String(value)}` };
  }
  if (
    'row_count' in validator ||
    'key_count' in validator ||
    'document_count' in validator ||
    'message_count' in validator ||
    'object_count' in validator
  ) {
    const { what, min, max } = countedBy(validator);
    const n = await adapter!.count!(store!, what);
    const ok = n >= min && (max === undefined || n <= max);
    return { ok, detail: `${n}` };
  }
  if ('mongo_query' in validator) {
    const { collection, filter, field, expect } = validator.mongo_query;
    const doc = await adapter!.firstDocument!(store!, { collection, filter });
    if (!doc) return { ok: false, detail: 'no document matched' };
    if (field === undefined) return { ok: true, detail: 'a document matched' };
    const value = field.split('.').reduce<unknown>((at, key) => (at as Record<string, unknown>)?.[key], doc);
    return { ok: String(value) === String(expect), detail: `got ${String(value)}` };
  }
  if ('checksum' in validator) {
    if (!input.snapshot) return { ok: false, detail: 'the backup holds no snapshot of this service' };
    const problem = await repo.checkSnapshot(input.snapshot);
    return {
      ok: !problem,
      detail: problem?.problem ?? `sha256 ${input.snapshot.sha256.slice(0, 12)} matches the catalog`,
    };
  }
  const context = {
    ...input.context,
    service: input.service,
    sandboxTarget: store ? adapter!.describe(store) : undefined,
  };
  if ('command' in validator) {
    const result = await runHookOnce(
      { command: validator.command, timeout: validator.timeout, on_error: 'fail' },
      context,
      signal,
    );
    return { ok: result.ok, detail: result.detail || 'exit 0' };
  }
  const result = await runHookOnce(
    { http: { url: validator.http.url, method: 'GET' }, timeout: validator.timeout, on_error: 'fail' },
    context,
    signal,
  );
  return { ok: result.status === validator.http.expect_status, detail: result.detail };
}

/** What a counting validator counts (a table, a key pattern, a collection, a stream's messages, a key prefix) and its bounds. */
function countedBy(
  validator: Extract<
    Validator,
    | { row_count: unknown }
    | { key_count: unknown }
    | { document_count: unknown }
    | { message_count: unknown }
    | { object_count: unknown }
  >,
): { what: string; min: number; max?: number } {
  if ('row_count' in validator) return { ...validator.row_count, what: validator.row_count.table };
  if ('key_count' in validator) return { ...validator.key_count, what: validator.key_count.pattern };
  if ('document_count' in validator)
    return { ...validator.document_count, what: validator.document_count.collection };
  if ('message_count' in validator)
    return { ...validator.message_count, what: validator.message_count.stream };
  return { ...validator.object_count, what: validator.object_count.prefix };
}

/** Removes a service's sandbox copy and whatever staging its restore left. */
export async function tearDownCopy(
  tools: DrillTools,
  datastore: Datastore,
  target: string,
  stagingId: string,
  signal: AbortSignal,
) {
  const copy = sandboxStore(tools, datastore, target);
  const adapter = tools.adapterFor(copy);
  await adapter.discard(copy, { stagingId, signal });
  await adapter.drop(copy);
}

async function removeSandboxRoot(root: string): Promise<void> {
  await fs.rm(root, { recursive: true, force: true });
}
