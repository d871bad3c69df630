/**
 * The one interface every function platform implements, in functions/<platform>/,
 * registered once in functions/platforms.ts. A platform knows how to read a function's
 * live version, make a version live, and check its answer; the generic layer
 * (activities/functions.ts) names versions by content, stores them in the repository and
 * decides what to deploy. Bound data resources (D1, KV, R2, tables) are datastores of
 * their own, backed up and restored by their adapters: a function only names them.
 */
import type { Readable } from 'node:stream';
import type { FunctionVersion, VersionContent } from '../contracts/functions';
import type { Datastore } from '../model/manifest';
import { UserError } from '../model/errors';
import type { FunctionOn, FunctionSpec, PlatformName } from './registry';

export interface PlatformContext {
  signal: AbortSignal;
  /** A directory for downloads and unpacked bundles; the platform removes what it puts there. */
  scratchDir: string;
}

/** The live version as read from the platform, before the generic layer names it. */
export interface CapturedFunction {
  content: VersionContent;
  /**
   * The bundle's bytes (whose SHA-256 and size `content.bundle` states), read now: code
   * behind a URL that expires (Lambda's, within minutes) is downloaded within this call.
   */
  bundle: Readable;
}

export interface DeployOutcome {
  /** What the platform calls the deployed version: a Lambda version number, a content digest. */
  live: string;
  /** Where the function answers, when it has an address (a URL). */
  endpoint?: string;
  /** `created`: the function was absent and was recreated with its triggers and permissions. */
  how: 'updated' | 'created' | 'native-rollback' | 'unchanged';
}

export interface ProbeResult {
  ok: boolean;
  /** The HTTP status, or the invocation's outcome. */
  status: number;
  /** The answer, cut to a few KiB: shown to the user before and after a rollback. */
  body: string;
}

/** A user's error (never retried): a function is absent from its platform (deleted, never deployed): capture has nothing to read. */
export class FunctionAbsentError extends UserError {
  constructor(
    readonly functionName: string,
    detail: string,
  ) {
    super(`function ${functionName} is not deployed: ${detail}`);
  }
}

/** A secret the version reads has no value where the deploy looks: nothing was deployed. */
export class MissingSecretError extends UserError {
  constructor(
    readonly functionName: string,
    readonly secrets: string[],
    fix: string,
  ) {
    super(
      `function ${functionName} reads secret${secrets.length > 1 ? 's' : ''} ${secrets.join(', ')}, ` +
        `which ${secrets.length > 1 ? 'have' : 'has'} no value; nothing was deployed: ${fix}`,
    );
  }
}

export interface FunctionPlatform<F extends FunctionSpec = FunctionSpec> {
  readonly platform: F['platform'];
  /**
   * The live version's code, configuration, bindings, triggers and secret names. Throws
   * FunctionAbsentError when there is no live version. Reads only: never changes the function.
   */
  capture(fn: F, ctx: PlatformContext): Promise<CapturedFunction>;
  /**
   * Makes `version` live from `bundle`: code, configuration, bindings and triggers, and
   * recreates a deleted function with them. Every secret the version names must have a
   * value (the manifest's `secrets`), checked before anything changes (MissingSecretError).
   * Deploying the version that is live already changes nothing. Idempotent.
   */
  deploy(fn: F, version: FunctionVersion, bundle: Readable, ctx: PlatformContext): Promise<DeployOutcome>;
  /**
   * The version the function's project on disk describes (a wrangler file and its
   * modules), for `lazarus functions deploy`; platforms deployed by their own tools leave it out.
   */
  fromProject?(fn: F, ctx: PlatformContext): Promise<CapturedFunction>;
  /**
   * The platform's own way back to a version it still holds (a Lambda alias moved onto a
   * published version), without re-uploading code; undefined when it no longer holds it,
   * and the caller deploys instead. Platforms without such a path leave it out.
   */
  rollback?(fn: F, version: FunctionVersion, ctx: PlatformContext): Promise<DeployOutcome | undefined>;
  /**
   * The data resources a version is bound to, as the manifest datastores that back them up
   * (a D1 database, a KV namespace, an R2 bucket), by binding name. Bindings to anything
   * Lazarus cannot back up are left out.
   */
  boundResources(fn: F, content: VersionContent): Record<string, Datastore>;
  /**
   * Stops the function taking requests, so its data can be swapped under it. A request in
   * flight may be cut (workerd's instance is disposed; Lambda's concurrency drops to 0).
   */
  quiesce(fn: F, ctx: PlatformContext): Promise<void>;
  /** Undoes quiesce; harmless when it is running. */
  resume(fn: F, ctx: PlatformContext): Promise<void>;
  /** Calls the function as a client would (the manifest's `probe`) and reports its answer. */
  probe(fn: F, ctx: PlatformContext): Promise<ProbeResult>;
  /**
   * Stops and deletes the function with what it runs on (a sandbox host, a function of its
   * own name): only ever called on a drill's copy. Harmless when it is gone already.
   */
  removeCopy(fn: F, ctx: PlatformContext): Promise<void>;
  /** Where the function is, for messages: `workerd notes at 127.0.0.1:8787`, `lambda orders (us-east-1)`. */
  describe(fn: F): string;
}

export type PlatformFor<P extends PlatformName> = FunctionPlatform<FunctionOn<P>>;
