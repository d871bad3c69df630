/**
 * Every ID format Lazarus writes, in one place. Each is a registered name (workflow IDs
 * in histories, schedule IDs on the server, staging names in datastores, backup IDs as
 * repository keys): change none of them. Pure, workflow-safe.
 */
import type { Operation } from './operations';

/** Readable, sortable workflow IDs of a run started now: `backup/shop/2026-11-21T10:00:00.000Z`. */
export function workflowIdFor(operation: Operation, app: string, now = new Date()): string {
  return `${operation}/${app}/${now.toISOString()}`;
}

/** A child workflow running one unit of a partitioned run: `<parent>/L<layer>-<slice>`. */
export function childWorkflowId(parentWorkflowId: string, unitId: string): string {
  return `${parentWorkflowId}/${unitId}`;
}

/** A unit of a partitioned run: the `slice`th slice of topological layer `layer`. */
export function partitionUnitId(layer: number, slice: number): string {
  return `L${layer}-${slice}`;
}

/**
 * An activity ID: what the step does, then what it does it to (`snapshot/orders`,
 * `hook/pre_backup/orders`, `snapshot-group/checkout`). The history reads as the run went.
 */
export function stepId(step: string, ...subject: string[]): string {
  return [step, ...subject].join('/');
}

/** An activity ID taken apart: `hook/pre_backup/orders` -> { step: 'hook', subject: 'pre_backup/orders' }. */
export function parseStep(activityId: string): { step: string; subject: string } {
  const [step, ...subject] = activityId.split('/');
  return { step, subject: subject.join('/') };
}

/** Short, deterministic and the same across retries: names the staging area of this run and service. */
export function stagingId(runKey: string, service: string): string {
  let hash = 0x811c9dc5;
  for (const ch of `${runKey}/${service}`) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

/**
 * A backup's ID is its run's start time in ISO 8601 without "-" and ":", such as
 * 20261121T100000.000Z: IDs sort as the runs did, and are safe in a repository key.
 */
export function backupIdAt(startedAt: Date): string {
  return startedAt.toISOString().replace(/[-:]/g, '');
}

const BACKUP_ID = /^\d{8}T\d{6}\.\d{3}Z$/;

export function isBackupId(text: string): boolean {
  return BACKUP_ID.test(text);
}

/** The ID one millisecond later: where a backup goes when another run took its ID. */
export function nextBackupId(id: string): string {
  const iso = id.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})/, '$1-$2-$3T$4:$5:$6');
  const at = Date.parse(iso);
  if (!isBackupId(id) || Number.isNaN(at)) throw new Error(`backup ID ${id} is not a time`);
  return backupIdAt(new Date(at + 1));
}

/** The schedule a run command (`drill --every`, `verify --every`) keeps: `drill/shop`. */
export function scheduleIdFor(operation: Operation, app: string): string {
  return `${operation}/${app}`;
}

/** What a command's schedule names the runs it starts; the server appends each action's time. */
export function scheduledWorkflowIdPrefix(operation: Operation, app: string): string {
  return `${operation}/${app}/scheduled`;
}

/**
 * The schedule of one tier of an application, `backup/shop/critical`: also the prefix of
 * the workflow IDs it starts (the server appends each action's time).
 */
export function tierScheduleId(operation: Operation, app: string, tier: string): string {
  return `${operation}/${app}/${tier}`;
}

/** Whether `scheduleId` is a tier schedule of `app` for one of `operations` (not `drill/<app>`, the drill command's own). */
export function isTierScheduleId(scheduleId: string, app: string, operations: readonly string[]): boolean {
  const [operation, ofApp, tier, ...rest] = scheduleId.split('/');
  return operations.includes(operation) && ofApp === app && !!tier && rest.length === 0;
}

/** The adaptive scheduler of an application: one long-running workflow, `adapt/shop`. */
export function adaptiveWorkflowId(app: string): string {
  return `adapt/${app}`;
}

/** The one capture workflow of a stream: `capture/<app>/<service>`, so a second start finds the first. */
export function captureWorkflowId(app: string, service: string): string {
  return `capture/${app}/${service}`;
}

/** A consistency group's checkpoint workflow: `checkpoints/<app>/<group>`. */
export function checkpointsWorkflowId(app: string, group: string): string {
  return `checkpoints/${app}/${group}`;
}

/** The one watcher of an application's functions: `functions-watch/<app>`, so a second start finds the first. */
export function functionsWatchWorkflowId(app: string): string {
  return `functions-watch/${app}`;
}
