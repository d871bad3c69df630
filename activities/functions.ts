/**
 * Function steps: a function's live version captured into the repository (named by its
 * content, so an unchanged function is one version however often it is captured), a
 * stored version made live again, and the function's answer checked. The platforms
 * (functions/<platform>/) do the platform's part; this file decides what is stored and deployed.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import os from 'node:os';
import path from 'node:path';
import type { VersionSource } from '../contracts/functions';
import type { RepositorySpec } from '../contracts/repository-spec';
import type { DeployOutcome, PlatformContext, ProbeResult } from '../functions/platform';
import { type FunctionSpec, platformSpecFor } from '../functions/registry';
import { recordVersion } from '../functions/record';
import { shortVersion } from '../functions/versions';
import type { SnapshotRef } from '../repository/records/catalog';
import type { FeatureDeps } from './deps';
import { verifiedStore } from './snapshot';
import { type StepTiming, consuming, timing, withHeartbeats, withOutageRetries } from './support';

export interface FunctionStepInput {
  repository: RepositorySpec;
  app: string;
  service: string;
  function: FunctionSpec;
  /** Set by drills: the sandbox the copy is deployed into (the platform spec's sandboxTarget). */
  target?: string;
}

export interface CaptureFunctionInput extends FunctionStepInput {
  source: VersionSource;
  /** The run whose shared repository lock the bundle's upload renews. */
  lockOwner: string;
}

export interface CaptureFunctionOutput extends StepTiming {
  version: string;
  bundle: SnapshotRef;
  takenAt: string;
  /** This capture found content no earlier capture had: a new version was recorded. */
  recorded: boolean;
}

export interface DeployFunctionInput extends FunctionStepInput {
  version: string;
}

export interface DeployFunctionOutput extends DeployOutcome, StepTiming {
  deployedTo: string;
}

export function functionActivities(deps: FeatureDeps) {
  const storeVerified = verifiedStore(deps);
  const context = (): PlatformContext => ({
    signal: Context.current().cancellationSignal,
    scratchDir: deps.scratchDir ?? path.join(os.tmpdir(), 'lazarus-functions'),
  });
  const deployed = (input: FunctionStepInput): FunctionSpec =>
    input.target
      ? platformSpecFor(input.function.platform).retarget(input.function, input.target)
      : input.function;

  return {
    /** Reads the function's live version and records it, unless the same content is recorded already. */
    async captureFunction(input: CaptureFunctionInput): Promise<CaptureFunctionOutput> {
      const started = Date.now();
      const repo = await deps.repositories.open(input.repository, true);
      const platform = deps.platformFor(input.function);
      return withOutageRetries(() =>
        withHeartbeats(async (progress) => {
          const captured = await platform.capture(input.function, context());
          const { version, ...out } = await recordVersion(
            repo.functions,
            { app: input.app, service: input.service, source: input.source },
            captured,
            (bundle) => storeVerified(repo, input.lockOwner, input.service, bundle, progress),
          );
          return { version: version.id, ...out, ...timing(started) };
        }),
      );
    },

    /**
     * Makes a recorded version live: through the platform's own way back when it still
     * holds the version, else by deploying the stored bundle. Idempotent: the version that
     * is live already is left as it is.
     */
    async deployFunction(input: DeployFunctionInput): Promise<DeployFunctionOutput> {
      const started = Date.now();
      const repo = await deps.repositories.open(input.repository);
      const record = await repo.functions.get(input.app, input.service, input.version);
      if (!record)
        throw ApplicationFailure.nonRetryable(
          `version ${shortVersion(input.version)} of ${input.service} is not in the repository`,
          'MissingVersion',
        );
      const fn = deployed(input);
      const platform = deps.platformFor(fn);
      return withOutageRetries(() =>
        withHeartbeats(async (progress) => {
          progress({ phase: `deploy ${input.service}`, bytes: 0 });
          const ctx = context();
          const native = await platform.rollback?.(fn, record.version, ctx);
          const bundle = native ? undefined : repo.openSnapshot(record.bundle);
          const outcome =
            native ?? (await consuming(bundle!, () => platform.deploy(fn, record.version, bundle!, ctx)));
          return { ...outcome, deployedTo: platform.describe(fn), ...timing(started) };
        }),
      );
    },

    /** Calls the function as a client would: its answer after a deploy, for the run's report. */
    async probeFunction(input: FunctionStepInput): Promise<ProbeResult> {
      const fn = deployed(input);
      return withOutageRetries(() => deps.platformFor(fn).probe(fn, context()));
    },

    /** Stops the function taking requests, so the data it is bound to can be swapped under it. */
    async quiesceFunction(input: FunctionStepInput): Promise<void> {
      const fn = deployed(input);
      await withOutageRetries(() => deps.platformFor(fn).quiesce(fn, context()));
    },

    /** Removes a drill's copy of the function; never called without the sandbox target. */
    async tearDownFunction(input: FunctionStepInput): Promise<void> {
      if (!input.target)
        throw ApplicationFailure.nonRetryable(
          `teardown of ${input.service} names no sandbox copy`,
          'NoTarget',
        );
      const fn = deployed(input);
      await withOutageRetries(() => deps.platformFor(fn).removeCopy(fn, context()));
    },

    async resumeFunction(input: FunctionStepInput): Promise<void> {
      const fn = deployed(input);
      await withOutageRetries(() => deps.platformFor(fn).resume(fn, context()));
    },
  };
}
