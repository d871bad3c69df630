/**
 * The composition root: a worker's activities are built here from the real collaborators
 * (worker/activity-deps.ts) and the worker's options.
 */
import { existsSync } from 'node:fs';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { type ActivitySettings, createActivities } from '../activities';
import type { TemporalSettings } from '../temporal/settings';
import { workerActivityDeps } from './activity-deps';
import { BUNDLE_PATH, WORKFLOWS_PATH } from './bundle';

/** What a worker is built with: its activities' settings, and its own limits. */
export interface WorkerOptions extends ActivitySettings {
  /** How many snapshot and restore steps this worker runs at once. */
  maxConcurrentActivities?: number;
}

export async function createWorker(
  connection: NativeConnection,
  settings: TemporalSettings,
  options: WorkerOptions = {},
): Promise<Worker> {
  const workflows = existsSync(BUNDLE_PATH)
    ? { workflowBundle: { codePath: BUNDLE_PATH } }
    : { workflowsPath: WORKFLOWS_PATH };
  const { maxConcurrentActivities, ...activitySettings } = options;
  return Worker.create({
    connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    ...workflows,
    activities: createActivities(workerActivityDeps(activitySettings)),
    maxConcurrentActivityTaskExecutions: maxConcurrentActivities ?? 8,
    // Heartbeats carry the bytes moved; the SDK would otherwise send them only every 24 s
    // (80% of the heartbeat timeout), and progress bars would stall between.
    maxHeartbeatThrottleInterval: '2 seconds',
    defaultHeartbeatThrottleInterval: '2 seconds',
  });
}

/**
 * The SDK logs every worker state change at INFO; a command line shows warnings only
 * (LAZARUS_LOG_LEVEL=INFO for more). Must run before the first connection is made.
 */
export function installQuietRuntime(): void {
  const level = (process.env.LAZARUS_LOG_LEVEL ?? 'WARN') as 'WARN';
  Runtime.install({ logger: new DefaultLogger(level) });
}
