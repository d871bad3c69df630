/**
 * Activities: the only place where Lazarus touches datastores and the repository.
 * Each is idempotent (content-addressed writes, staging areas named per run and
 * service), heartbeats with progress, and stops cleanly when cancelled.
 *
 * This file only composes the features' factories over the collaborators the worker
 * passes in (worker/create-worker.ts). The keys of the object `createActivities` returns
 * are registered names, kept in run histories: they never change.
 */
import { adaptiveActivities } from './adaptive';
import { cacheActivities } from './cache';
import { captureActivities } from './capture';
import { pointRestoreActivities } from './point-restore';
import { catalogActivities } from './catalog';
import type { ActivityDeps } from './deps';
import { drillActivities } from './drill';
import { functionActivities } from './functions';
import { hookActivities } from './hooks';
import { repositoryCache } from './repositories';
import { restoreActivities } from './restore';
import { snapshotActivities } from './snapshot';
import { verifyActivities } from './verify';

export type { ActivityDeps, ActivitySettings } from './deps';
export type { GroupSnapshotInput, GroupSnapshotOutput, SnapshotInput, SnapshotOutput } from './snapshot';
export type { RestoreServiceInput, RestoreServiceOutput } from './restore';
export type { StepTiming } from './support';
export type { DurablePoint, SessionInput, SessionOutput, StreamInput, StreamState } from './capture';
export type {
  CaptureFunctionInput,
  CaptureFunctionOutput,
  DeployFunctionInput,
  DeployFunctionOutput,
  FunctionStepInput,
} from './functions';
export type { PointPlan, PointRestoreInput, PointRestoreOutput } from './point-restore';

export function createActivities(deps: ActivityDeps) {
  const features = { ...deps, repositories: repositoryCache(deps) };
  return {
    ...snapshotActivities(features),
    ...drillActivities(features),
    ...hookActivities(features),
    ...restoreActivities(features),
    ...catalogActivities(features),
    ...verifyActivities(features),
    ...adaptiveActivities(features),
    ...cacheActivities(features),
    ...captureActivities(features),
    ...pointRestoreActivities(features),
    ...functionActivities(features),
  };
}

export type Activities = ReturnType<typeof createActivities>;
