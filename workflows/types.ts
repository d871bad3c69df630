/** Inputs, outputs and progress of the workflows: plain data (IDs, refs, checksums), never payloads. */
import type { Datastore, Hook, ServiceHookName } from '../model/manifest';
import type { Cache } from '../datastores/caches/spec';
import type { FunctionSpec } from '../functions/registry';
import type { SnapshotRef } from '../repository/records/catalog';
import type { RepositorySpec } from '../contracts/repository-spec';
import type { GroupResult } from './group';
import type { AppSpec } from '../model/app-spec';

export type { AppSpec };

export interface RunOptions {
  /** How many services run at once. */
  concurrency?: number;
  /**
   * Attempts per service before it is marked failed, for failures that look like an outage
   * (a refused, reset or stalled connection); any other failure stops after 3.
   */
  maxAttempts?: number;
  /** A worker that stops heartbeating for this long is presumed dead and the step moves on. */
  heartbeatTimeoutSeconds?: number;
  /** Graphs larger than this are split into child workflows of at most this many services. */
  partitionSize?: number;
}

export interface BackupInput {
  spec: AppSpec;
  options?: RunOptions;
  /**
   * Set by schedules: a backup that saved nothing ends as a failed workflow, so that the
   * schedule's pause-on-failure stops it until someone looks.
   */
  failWhenFailed?: boolean;
}

export interface RestoreInput {
  spec: AppSpec;
  /** Default: the latest verified backup. */
  backupId?: string;
  /** Default (left out): every service; an empty list is refused. */
  services?: string[];
  withDependencies?: boolean;
  /** service -> another path, database name or index to restore into instead of the original. */
  targets?: Record<string, string>;
  /** A target that already holds data is replaced (after approval); without it, such a restore is refused. */
  replaceTargets?: boolean;
  options?: RunOptions;
  /** Given up front (--yes): the restore does not wait for approval. */
  approved?: boolean;
  /** How long a restore waits for approval before it stops; default 3600. */
  approvalTimeoutSeconds?: number;
}

/** One hook that ran, in the order hooks ran. */
export interface HookRecord {
  event: string;
  service?: string;
  ok: boolean;
  detail: string;
  durationMs: number;
  onError: 'fail' | 'continue';
}

export type NodeStatus = 'succeeded' | 'failed' | 'skipped' | 'stateless';

export interface NodeOutcome {
  status: NodeStatus;
  /** Why a node failed or was skipped. */
  reason?: string;
  /** When the step ran, by the worker's clock. */
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  bytes?: number;
  snapshot?: SnapshotRef;
  takenAt?: string;
  restoredTo?: string;
  /** The consistency group whose single moment this snapshot was taken at. */
  group?: string;
  /** Where the store stood at the snapshot point: an LSN, a GTID or binlog position, an offset. */
  position?: string;
  /** A cache's step: flushed after the stores it fronts were restored. */
  flushed?: boolean;
  /** A function's step: the version captured or deployed. */
  version?: string;
  /** A function's answer after its deploy. */
  probe?: { ok: boolean; status: number; body: string };
  hooks?: HookRecord[];
}

export interface RunResult {
  app: string;
  backupId: string;
  /** rejected: a restore over the originals was not approved, and changed nothing. */
  outcome: 'succeeded' | 'partial' | 'failed' | 'rejected';
  durationMs: number;
  services: Record<string, NodeOutcome>;
  /** Why the run as a whole failed, when it failed before or around its services. */
  reason?: string;
  /** Application-wide hooks, in the order they ran. */
  hooks?: HookRecord[];
  /** Each consistency group's freeze. */
  groups?: GroupResult[];
}

export interface RunProgress {
  total: number;
  /** A restore over the original targets, waiting for `lazarus approve`. */
  awaitingApproval?: boolean;
  done: number;
  running: string[];
  services: Record<string, NodeOutcome>;
}

/** What one partition (a child workflow, or the whole run when it is small) works on. */
export interface PartitionPlan {
  app: string;
  repository: RepositorySpec;
  /** The members and their datastores; dependencies are already settled by the parent. */
  members: Record<
    string,
    {
      datastore?: Datastore;
      /** A cache to flush in this restore: set only when a store it fronts is restored in place. */
      cache?: Cache;
      /** A function: captured in a backup, deployed (its `version`) in a restore. */
      function?: FunctionSpec;
      version?: string;
      snapshot?: SnapshotRef;
      target?: string;
      hooks?: Partial<Record<ServiceHookName, Hook>>;
    }
  >;
  /** member -> members of this plan it depends on. */
  dependsOn: Record<string, string[]>;
  options: Required<RunOptions>;
  /** Names staging areas: the same for every attempt of the same run. */
  runKey: string;
  /** What hooks are told about the run. */
  context: { app: string; runId: string; backupId?: string };
}

export const defaultRunOptions: Required<RunOptions> = {
  concurrency: 4,
  // 1 s doubling to 30 s between attempts: about 2.5 minutes, for a database failover.
  maxAttempts: 10,
  heartbeatTimeoutSeconds: 30,
  partitionSize: 100,
};
