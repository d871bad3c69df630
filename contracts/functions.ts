/**
 * Function versions: what Lazarus keeps of a serverless function (its code bundle,
 * configuration, bindings, triggers and the names of its secrets). Plain data, without
 * Node built-ins: workflows pass versions by ID, and records are JSON in the repository.
 */
import type { SnapshotRef } from './snapshot-ref';

/** What a binding gives the function: a data resource (a graph node of its own) or something else. */
export type BindingKind = 'd1' | 'kv' | 'r2' | 'dynamodb' | 's3' | 'sql' | 'queue' | 'service' | 'other';

/** One binding of a version: the name the code uses, and the resource it points at. */
export interface BindingRef {
  /** The name in the code: `env.DB`, an environment variable, a mapping's source. */
  name: string;
  kind: BindingKind;
  /**
   * The resource's identity on its platform: a D1 `database_id`, a KV namespace id, an R2
   * bucket name, a table or queue ARN. Changing it points the function at other data.
   */
  resource: string;
}

/**
 * Everything a version is, apart from its ID. The same content always gives the same ID
 * (a SHA-256 over its canonical JSON), so capturing an unchanged function twice gives one version.
 */
export interface VersionContent {
  platform: string;
  /** The function's name on its platform. */
  name: string;
  /** The bundle's bytes as stored: code (and, for Lambda, each layer's content), in the platform's format. */
  bundle: { sha256: string; size: number; format: string };
  /** Runtime, handler, memory, compatibility date and flags, plain environment variables, layers with their digests. */
  config: Record<string, unknown>;
  bindings: BindingRef[];
  /** Routes, URL configuration, event source mappings, resource policy, schedules. */
  triggers: unknown[];
  /** The names of the secrets it reads: their values are never captured. */
  secrets: string[];
}

export interface FunctionVersion extends VersionContent {
  /** `fv-` and the SHA-256 of the canonical content. */
  id: string;
}

/** How a version came to be recorded. */
export type VersionSource = 'backup' | 'watch' | 'deploy' | 'rollback';

/** A version as the repository keeps it: written once, under functions/<app>/<service>/versions/<id>. */
export interface VersionRecord {
  app: string;
  service: string;
  version: FunctionVersion;
  /** The stored bundle; prune keeps it as long as the record exists. */
  bundle: SnapshotRef;
  /** When this content was first seen live, and by whom. */
  firstSeenAt: string;
  source: VersionSource;
}
