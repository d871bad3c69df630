/** Inputs, outputs and progress of the workflows: plain data (IDs, refs, checksums), never payloads. */
import type { Datastore, Service } from '../model/manifest';
import type { SnapshotRef } from '../repository/catalog';

export interface RunOptions {
  /** How many services run at once. */
  concurrency?: number;
  /** Attempts per service before it is marked failed. */
  maxAttempts?: number;
  /** A worker that stops heartbeating for this long is presumed dead and the step moves on. */
  heartbeatTimeoutSeconds?: number;
  /** Graphs larger than this are split into child workflows of at most this many services. */
  partitionSize?: number;
}

/** The part of a manifest a run needs: no secret values, only references to them. */
export interface AppSpec {
  app: string;
  repository: string;
  services: Record<string, Service>;
}

export interface BackupInput {
  spec: AppSpec;
  options?: RunOptions;
}

export interface RestoreInput {
  spec: AppSpec;
  /** Default: the latest verified backup. */
  backupId?: string;
  /** Default: every service. */
  services?: string[];
  withDependencies?: boolean;
  /** service -> another path, database name or index to restore into instead of the original. */
  targets?: Record<string, string>;
  options?: RunOptions;
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
}

export interface RunResult {
  app: string;
  backupId: string;
  outcome: 'succeeded' | 'partial' | 'failed';
  durationMs: number;
  services: Record<string, NodeOutcome>;
}

export interface RunProgress {
  total: number;
  done: number;
  running: string[];
  services: Record<string, NodeOutcome>;
}

/** What one partition (a child workflow, or the whole run when it is small) works on. */
export interface PartitionPlan {
  app: string;
  repository: string;
  /** The members and their datastores; dependencies are already settled by the parent. */
  members: Record<string, { datastore?: Datastore; snapshot?: SnapshotRef; target?: string }>;
  /** member -> members of this plan it depends on. */
  dependsOn: Record<string, string[]>;
  options: Required<RunOptions>;
  /** Names staging areas: the same for every attempt of the same run. */
  runKey: string;
}

export const defaultRunOptions: Required<RunOptions> = {
  concurrency: 4,
  maxAttempts: 3,
  heartbeatTimeoutSeconds: 30,
  partitionSize: 100,
};
