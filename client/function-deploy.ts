/**
 * A function's project deployed as it is on disk (self-hosted workerd), its version
 * recorded first: what `lazarus functions deploy` and the demo do.
 */
import os from 'node:os';
import path from 'node:path';
import type { DeployOutcome, PlatformContext, ProbeResult } from '../functions/platform';
import { platformFor } from '../functions/platforms';
import { recordVersion } from '../functions/record';
import type { FunctionSpec } from '../functions/registry';
import { UserError } from '../model/errors';
import type { Repository } from '../repository/repository';

export interface ProjectDeploy extends DeployOutcome {
  version: string;
  probe: ProbeResult;
}

export function cliContext(): PlatformContext {
  return { signal: new AbortController().signal, scratchDir: path.join(os.tmpdir(), 'lazarus-functions') };
}

export async function deployProject(
  repo: Repository,
  owner: { app: string; service: string },
  fn: FunctionSpec,
): Promise<ProjectDeploy> {
  const platform = platformFor(fn);
  if (!platform.fromProject)
    throw new UserError(
      `${fn.platform} functions are deployed with their own tools; Lazarus records and rolls them back`,
    );
  const ctx = cliContext();
  const recorded = await recordVersion(
    repo.functions,
    { ...owner, source: 'deploy' },
    await platform.fromProject(fn, ctx),
    async (bundle) => {
      const ref = await repo.storeSnapshot(bundle);
      const problem = await repo.checkSnapshot(ref);
      if (problem) throw new Error(`the bundle of ${owner.service} failed verification: ${problem.problem}`);
      return ref;
    },
  );
  const outcome = await platform.deploy(fn, recorded.version, repo.openSnapshot(recorded.bundle), ctx);
  return { ...outcome, version: recorded.version.id, probe: await platform.probe(fn, ctx) };
}
