/**
 * Every set of activity options the workflows use, named once (as the samples' saga does).
 * Timeouts and retry policies are behaviour: a change here changes how runs recover.
 */
import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';
import { stepSummary } from './step-summary';
import type { RunOptions } from './types';

/**
 * How soon a bookkeeping step (a catalog read or write, the repository lock) lost with its
 * worker is tried again: they heartbeat, so a dead worker costs seconds, not the whole
 * start-to-close timeout.
 */
const BOOKKEEPING_HEARTBEAT = '10 seconds';

/** Short catalog steps (resolve a backup, record one): quick, and safe to retry. */
export const catalogStep: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: BOOKKEEPING_HEARTBEAT,
  retry: { maximumAttempts: 10 },
};

/** The repository lock waits out a prune: retried for about an hour. */
export const lockStep: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: BOOKKEEPING_HEARTBEAT,
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 70,
  },
};

/**
 * A snapshot or restore of one service (or group): long, heartbeating, retried with
 * backoff through an outage; a cancelled run waits for the step to clean up.
 */
export function dataStep(options: Required<RunOptions>, activityId: string): ActivityOptions {
  return {
    activityId,
    summary: stepSummary(activityId),
    startToCloseTimeout: '24 hours',
    heartbeatTimeout: `${options.heartbeatTimeoutSeconds} seconds`,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      maximumAttempts: options.maxAttempts,
      initialInterval: '1 second',
      maximumInterval: '30 seconds',
    },
  };
}

/** A user's hook: given its own timeout and a minute to spare. */
export function hookStep(
  activityId: string,
  hookTimeoutMs: number,
  heartbeatTimeoutSeconds: number,
): ActivityOptions {
  return {
    activityId,
    summary: stepSummary(activityId),
    startToCloseTimeout: hookTimeoutMs + 60_000,
    heartbeatTimeout: `${heartbeatTimeoutSeconds} seconds`,
    // The hook's own failure is a result, not an error: only a lost worker is retried.
    retry: { maximumAttempts: 3 },
  };
}

/** A drill's validators of one restored copy. */
export function validateStep(options: Required<RunOptions>, activityId: string): ActivityOptions {
  return {
    activityId,
    summary: stepSummary(activityId),
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: `${options.heartbeatTimeoutSeconds} seconds`,
    retry: { maximumAttempts: options.maxAttempts },
  };
}

/** Removing a drill's sandbox copies. */
export function teardownStep(options: Required<RunOptions>): ActivityOptions {
  return {
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: `${options.heartbeatTimeoutSeconds} seconds`,
    // Teardown must not be given up on lightly: a copy left behind costs space and confuses.
    retry: { maximumAttempts: 10, initialInterval: '1 second', maximumInterval: '30 seconds' },
  };
}

/** The structure check and each batch of packs a verify reads. */
export const verifyBatch: ActivityOptions = {
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 5 },
};

/** The adaptive scheduler's reads of change rates and its schedule updates. */
export const scheduleStep: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  retry: { maximumInterval: '1 minute' },
};

/**
 * A capture session: as long as the session, heartbeating every second, retried without
 * end (with backoff) while the source is away; the retry resumes from the last heartbeat.
 */
export function captureSessionStep(sessionMs: number): ActivityOptions {
  return {
    startToCloseTimeout: sessionMs + 120_000,
    heartbeatTimeout: '15 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  };
}

/** A base backup for continuous capture: long, heartbeating, a few attempts. */
export const baseStep: ActivityOptions = {
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '5 seconds' },
};

/** A restore to a point in time of one store: download, replay, swap or validate. */
export const pointRestoreStep: ActivityOptions = {
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '1 minute',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumAttempts: 3, initialInterval: '5 seconds' },
};
