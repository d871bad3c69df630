/**
 * Making a captured version live. Native rollback moves the alias onto a published
 * version Lambda still holds. Deploy uploads the code and configuration (secret values
 * taken from the manifest's references, checked before any change), publishes a version
 * and points the alias at it; a deleted function is recreated with its triggers.
 */
import {
  CreateFunctionCommand,
  type FunctionConfiguration,
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  GetLayerVersionByArnCommand,
  GetLayerVersionCommand,
  type LambdaClient,
  PublishLayerVersionCommand,
  PublishVersionCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  paginateListLayerVersions,
  paginateListVersionsByFunction,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { FunctionVersion } from '../../contracts/functions';
import { resolveSecret } from '../../datastores/shared/secrets';
import { UserError } from '../../model/errors';
import { type DeployOutcome, MissingSecretError, type PlatformContext } from '../platform';
import { lambdaDigest, unpackBundle } from './bundle';
import { lambdaClient, unlessNotFound } from './lambda-api';
import {
  CODE_FILE,
  type LambdaConfig,
  type LayerRecord,
  isSameVersion,
  triggersOf,
  unqualifiedArn,
} from './content';
import type { LambdaFunction } from './spec';
import { ensureTriggers, pointAlias } from './triggers';

/** How long a deploy waits for Lambda to finish an update (AWS's own waiters poll). */
const WAIT_SECONDS = 300;

export async function rollbackLambda(
  fn: LambdaFunction,
  version: FunctionVersion,
  ctx: PlatformContext,
): Promise<DeployOutcome | undefined> {
  const client = lambdaClient(fn);
  const config = version.config as unknown as LambdaConfig;
  const published = await publishedVersions(client, fn, ctx.signal);
  if (!published) return undefined;
  const layerArns = await Promise.all(
    config.layers.map(async (layer) => (await locateLayer(client, layer, ctx.signal)) ?? layer.arn),
  );
  const matching = published.filter(
    (v) => v.Version !== '$LATEST' && isSameVersion(v, config, version.secrets, layerArns),
  );
  if (matching.length === 0) return undefined;
  const [alias] = triggersOf(version.triggers, 'alias');
  const target = matching.find((v) => v.Version === alias?.functionVersion) ?? matching[matching.length - 1];
  // Weighted routing is kept only when every version it names is still there.
  const numbers = new Set(published.map((v) => v.Version));
  const routing =
    alias && Object.keys(alias.routing).every((v) => numbers.has(v) && v !== target.Version)
      ? alias.routing
      : {};
  const moved = await pointAlias(client, fn, target.Version!, routing, ctx.signal);
  const endpoint = await ensureTriggers(
    client,
    fn,
    version.triggers,
    unqualifiedArn(target.FunctionArn!),
    ctx.signal,
  );
  return {
    live: target.Version!,
    how: moved ? 'native-rollback' : 'unchanged',
    ...(endpoint ? { endpoint } : {}),
  };
}

/** Every published version, or undefined when the function itself is gone. */
async function publishedVersions(client: LambdaClient, fn: LambdaFunction, signal: AbortSignal) {
  const pages = paginateListVersionsByFunction(
    { client },
    { FunctionName: fn.name },
    { abortSignal: signal },
  );
  return unlessNotFound(
    (async () => {
      const versions: FunctionConfiguration[] = [];
      for await (const page of pages) versions.push(...(page.Versions ?? []));
      return versions;
    })(),
  );
}

export async function deployLambda(
  fn: LambdaFunction,
  version: FunctionVersion,
  bundle: Readable,
  ctx: PlatformContext,
): Promise<DeployOutcome> {
  const secretValues = resolveVersionSecrets(fn, version);
  const config = version.config as unknown as LambdaConfig;
  const client = lambdaClient(fn);
  const opts = { abortSignal: ctx.signal };
  const work = await fs.mkdtemp(path.join(ctx.scratchDir, 'lambda-deploy-'));
  try {
    await unpackBundle(bundle, work, version.bundle.sha256, ctx.signal);
    const code = await fs.readFile(path.join(work, CODE_FILE));
    if (lambdaDigest(code) !== config.codeSha256)
      throw new Error(
        `the bundle's code is not the version's (digest ${lambdaDigest(code)}, not ${config.codeSha256})`,
      );
    const existing = await unlessNotFound(
      client.send(new GetFunctionCommand({ FunctionName: fn.name }), opts),
    );
    const functionArn = unqualifiedArn(existing?.Configuration?.FunctionArn ?? '');
    const layers = await ensureLayers(client, config.layers, work, ctx.signal);
    const live = existing && (await liveVersionIfSame(client, fn, version, layers, ctx.signal));
    if (live) {
      const endpoint = await ensureTriggers(client, fn, version.triggers, functionArn, ctx.signal);
      return { live, how: 'unchanged', ...(endpoint ? { endpoint } : {}) };
    }
    const settings = {
      FunctionName: fn.name,
      Runtime: config.runtime as never,
      Handler: config.handler,
      MemorySize: config.memorySize,
      Timeout: config.timeout,
      Role: config.role,
      Description: config.description,
      ...(config.ephemeralStorage ? { EphemeralStorage: { Size: config.ephemeralStorage } } : {}),
      Environment: { Variables: { ...config.environment, ...secretValues } },
      Layers: layers,
    };
    let published: FunctionConfiguration;
    if (!existing) {
      published = await client.send(
        new CreateFunctionCommand({
          ...settings,
          Role: config.role ?? '',
          PackageType: 'Zip',
          Code: { ZipFile: code },
          Architectures: config.architectures as never,
          Tags: triggersOf(version.triggers, 'tags')[0]?.tags,
          Publish: true,
        }),
        opts,
      );
      await waitUntilFunctionActiveV2(
        { client, maxWaitTime: WAIT_SECONDS, abortSignal: ctx.signal },
        { FunctionName: fn.name },
      );
    } else {
      await client.send(
        new UpdateFunctionCodeCommand({
          FunctionName: fn.name,
          ZipFile: code,
          Architectures: config.architectures as never,
        }),
        opts,
      );
      await waitUpdated(client, fn, ctx.signal);
      await client.send(new UpdateFunctionConfigurationCommand(settings), opts);
      await waitUpdated(client, fn, ctx.signal);
      // The digest guard: Lambda publishes only the code this deploy uploaded.
      published = await client.send(
        new PublishVersionCommand({ FunctionName: fn.name, CodeSha256: config.codeSha256 }),
        opts,
      );
    }
    await pointAlias(client, fn, published.Version!, {}, ctx.signal);
    const endpoint = await ensureTriggers(
      client,
      fn,
      version.triggers,
      unqualifiedArn(published.FunctionArn!),
      ctx.signal,
    );
    return {
      live: published.Version!,
      how: existing ? 'updated' : 'created',
      ...(endpoint ? { endpoint } : {}),
    };
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

function waitUpdated(client: LambdaClient, fn: LambdaFunction, signal: AbortSignal) {
  return waitUntilFunctionUpdatedV2(
    { client, maxWaitTime: WAIT_SECONDS, abortSignal: signal },
    { FunctionName: fn.name },
  );
}

/**
 * The secret variables' values, from the manifest's references. All are read before the
 * first call to Lambda, so a missing one fails the deploy with nothing changed.
 */
function resolveVersionSecrets(fn: LambdaFunction, version: FunctionVersion): Record<string, string> {
  const values: Record<string, string> = {};
  const problems: string[] = [];
  for (const name of version.secrets) {
    const ref = fn.secrets[name];
    if (!ref) {
      problems.push(
        `${name}: add secrets.${name} ({env: VAR} or {file: PATH}) to the function's manifest entry`,
      );
      continue;
    }
    try {
      values[name] = resolveSecret(ref)!;
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      problems.push(`${name}: ${err.message}`);
    }
  }
  if (problems.length > 0) {
    const missing = version.secrets.filter((name) => values[name] === undefined);
    throw new MissingSecretError(fn.name, missing, problems.join('; '));
  }
  return values;
}

/** The alias's version number when it is the captured version already. */
async function liveVersionIfSame(
  client: LambdaClient,
  fn: LambdaFunction,
  version: FunctionVersion,
  layerArns: string[],
  signal: AbortSignal,
) {
  const opts = { abortSignal: signal };
  const alias = await unlessNotFound(
    client.send(new GetAliasCommand({ FunctionName: fn.name, Name: fn.alias }), opts),
  );
  if (!alias?.FunctionVersion || alias.FunctionVersion === '$LATEST') return undefined;
  const conf = await client.send(
    new GetFunctionConfigurationCommand({ FunctionName: fn.name, Qualifier: alias.FunctionVersion }),
    opts,
  );
  return isSameVersion(conf, version.config as unknown as LambdaConfig, version.secrets, layerArns)
    ? alias.FunctionVersion
    : undefined;
}

/**
 * The layer ARNs to deploy with: where each captured layer's content is now (locateLayer),
 * else the captured content, published again.
 */
async function ensureLayers(client: LambdaClient, layers: LayerRecord[], dir: string, signal: AbortSignal) {
  const arns: string[] = [];
  for (const layer of layers) {
    const found = await locateLayer(client, layer, signal);
    if (found) {
      arns.push(found);
      continue;
    }
    const published = await client.send(
      new PublishLayerVersionCommand({
        LayerName: layerNameOf(layer.arn),
        Description: layer.description,
        Content: { ZipFile: await fs.readFile(path.join(dir, layer.file)) },
        CompatibleRuntimes: layer.compatibleRuntimes as never,
        CompatibleArchitectures: layer.compatibleArchitectures as never,
      }),
      { abortSignal: signal },
    );
    arns.push(published.LayerVersionArn!);
  }
  return arns;
}

const layerNameOf = (arn: string) => arn.split(':')[6];

/**
 * The captured layer's ARN while it still resolves (layer versions never change); else a
 * version of that layer with the same content (the one an earlier deploy, or its
 * interrupted retry, published); undefined when Lambda has the content nowhere.
 */
async function locateLayer(client: LambdaClient, layer: LayerRecord, signal: AbortSignal) {
  const opts = { abortSignal: signal };
  if (await unlessNotFound(client.send(new GetLayerVersionByArnCommand({ Arn: layer.arn }), opts)))
    return layer.arn;
  const layerName = layerNameOf(layer.arn);
  for await (const page of paginateListLayerVersions({ client }, { LayerName: layerName }, opts))
    for (const item of page.LayerVersions ?? []) {
      const got = await unlessNotFound(
        client.send(new GetLayerVersionCommand({ LayerName: layerName, VersionNumber: item.Version }), opts),
      );
      if (got?.Content?.CodeSha256 === layer.codeSha256) return got.LayerVersionArn;
    }
  return undefined;
}
