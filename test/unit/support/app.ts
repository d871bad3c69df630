/**
 * Applications and mocked activities for workflow tests on the stand-in runtime: a
 * spec from a few lines, a catalog that holds one backup of it, and step mocks that take
 * virtual time and can be told to fail.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Datastore, Service } from '../../../model/manifest';
import type { BackupEntry } from '../../../repository/records/catalog';
import type { AppSpec } from '../../../workflows/types';
import type { ActivityMock, WorkflowRun } from './workflow-runtime';

/** `db: 'sqlite'`, `api: ['stateless', 'db']`: a kind (or stateless) and what the service depends on. */
export type Layout = Record<
  string,
  Datastore['kind'] | 'stateless' | [Datastore['kind'] | 'stateless', ...string[]]
>;

export function appSpec(layout: Layout, app = 'shop'): AppSpec {
  const services: Record<string, Service> = {};
  for (const [name, entry] of Object.entries(layout)) {
    const [kind, ...dependsOn] = Array.isArray(entry) ? entry : [entry];
    services[name] = { tier: 'standard', depends_on: dependsOn, datastore: storeOf(kind, name) };
  }
  return { app, repository: { location: '/backups/shop' }, services, sandbox: '/drills' };
}

function storeOf(kind: Datastore['kind'] | 'stateless', name: string): Datastore | undefined {
  switch (kind) {
    case 'stateless':
      return undefined;
    case 'sqlite':
    case 'directory':
      return { kind, path: `/data/${name}` };
    case 'postgres':
    case 'mariadb':
      return { kind, host: '127.0.0.1', database: name } as Datastore;
    case 'redis':
      return { kind, host: '127.0.0.1', db: 0, sandbox_db: 9 } as Datastore;
  }
}

/** The one backup the catalog holds: a snapshot of every stateful service. */
export function backupOf(spec: AppSpec, id = '20260101T000000Z'): BackupEntry {
  const stateful = Object.keys(spec.services).filter((s) => spec.services[s].datastore);
  return {
    id,
    app: spec.app,
    workflowId: `backup/${spec.app}`,
    startedAt: '2026-01-01T00:00:00.000Z',
    completedAt: '2026-01-01T00:01:00.000Z',
    status: 'complete',
    services: Object.fromEntries(
      stateful.map((s) => [
        s,
        {
          kind: spec.services[s].datastore!.kind,
          snapshot: { sha256: `sha-${s}`, size: 100 },
          // A minute ago: well within every tier's RPO (a drill measures against the real clock).
          takenAt: new Date(Date.now() - 60_000).toISOString(),
          verified: true,
        },
      ]),
    ),
    failures: {},
    dependsOn: Object.fromEntries(Object.entries(spec.services).map(([s, svc]) => [s, svc.depends_on])),
  };
}

/** How a mocked step behaves: how long it takes (virtual ms) and whether it fails. */
export interface StepBehaviour {
  ms?: Record<string, number>;
  /** service -> the message its step fails with (non-retryable, as after its retries). */
  fails?: Record<string, string>;
}

/**
 * A step mock over `{ service }` inputs: takes its time on the run's virtual clock, then
 * fails as told or returns `result(service)`.
 */
export function stepMock<R>(
  run: () => WorkflowRun<unknown>,
  behaviour: StepBehaviour,
  result: (service: string) => R,
): ActivityMock {
  return (async (input: { service: string }) => {
    await run().delay(behaviour.ms?.[input.service] ?? 10);
    const failure = behaviour.fails?.[input.service];
    if (failure) throw ApplicationFailure.nonRetryable(failure, 'StepFailed');
    return result(input.service);
  }) as ActivityMock;
}

/** A restore step's result, as restoreService returns it. */
export function restored(service: string) {
  const now = new Date().toISOString();
  return { bytes: 100, restoredTo: `/data/${service}`, startedAt: now, finishedAt: now, durationMs: 10 };
}

/** A snapshot step's result, as snapshotService returns it. */
export function snapshotted(service: string) {
  const now = new Date().toISOString();
  return {
    snapshot: { sha256: `sha-${service}`, size: 100 },
    takenAt: now,
    startedAt: now,
    finishedAt: now,
    durationMs: 10,
  };
}

/** The services of each call of `type`, in the order the calls started. */
export function servicesCalled(run: WorkflowRun<unknown>, type: string): string[] {
  return run.inputsOf<{ service: string }>(type).map((i) => i.service);
}
