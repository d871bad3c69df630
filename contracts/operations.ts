/**
 * The operations Lazarus runs as workflows, and the workflow type each one starts. The
 * types are registered names (histories, schedules and the worker refer to them): never
 * rename one. Pure, workflow-safe.
 */
export const workflowTypes = {
  backup: 'backupApplication',
  restore: 'restoreApplication',
  drill: 'drillApplication',
  verify: 'verifyRepository',
  adapt: 'adaptSchedules',
  capture: 'captureStream',
  checkpoints: 'checkpointGroup',
  'restore-at': 'restoreToPointInTime',
  'rollback-function': 'rollbackFunction',
  'watch-functions': 'watchFunctions',
} as const;

/** What a run does: the first part of its workflow ID, and its `LazarusKind` search attribute. */
export type Operation = keyof typeof workflowTypes;

export const operations = Object.keys(workflowTypes) as Operation[];
