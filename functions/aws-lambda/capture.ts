/**
 * Capture: the code and layers behind the alias, downloaded within the call (Lambda's
 * code URLs expire within minutes), with the configuration and triggers that make the
 * version what it is. Secret variables are recorded by name; their values never leave Lambda.
 */
import {
  GetFunctionCommand,
  GetLayerVersionByArnCommand,
  type Layer,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../model/errors';
import { type CapturedFunction, FunctionAbsentError, type PlatformContext } from '../platform';
import { bindingsOf } from './bindings';
import { download, packBundle, streamThenRemove } from './bundle';
import { lambdaClient, unlessNotFound } from './lambda-api';
import {
  BUNDLE_FORMAT,
  CODE_FILE,
  type LambdaConfig,
  type LayerRecord,
  settingsOf,
  triggersOf,
  unqualifiedArn,
} from './content';
import type { LambdaFunction } from './spec';
import { captureTriggers } from './triggers';

export async function captureLambda(fn: LambdaFunction, ctx: PlatformContext): Promise<CapturedFunction> {
  const client = lambdaClient(fn);
  const got = await unlessNotFound(
    client.send(new GetFunctionCommand({ FunctionName: fn.name, Qualifier: fn.alias }), {
      abortSignal: ctx.signal,
    }),
  );
  const conf = got?.Configuration;
  if (!conf)
    throw new FunctionAbsentError(fn.name, `Lambda has no function ${fn.name} with an alias ${fn.alias}`);
  if (conf.PackageType === 'Image' || !got.Code?.Location)
    throw new UserError(
      `lambda ${fn.name}: a container-image function (${got.Code?.ImageUri ?? 'no code location'}); Lazarus captures zip functions only`,
    );
  const work = await fs.mkdtemp(path.join(ctx.scratchDir, 'lambda-capture-'));
  try {
    const files = path.join(work, 'files');
    // First, before anything else can take time: the URL expires.
    const code = await download(
      got.Code.Location,
      path.join(files, CODE_FILE),
      `lambda ${fn.name}'s code`,
      ctx.signal,
    );
    if (conf.CodeSha256 && code.base64Sha256 !== conf.CodeSha256)
      throw new Error(
        `lambda ${fn.name}: the downloaded code's digest ${code.base64Sha256} is not Lambda's ${conf.CodeSha256}`,
      );
    const layers = await captureLayers(client, conf.Layers ?? [], files, ctx.signal);
    const { config: settings, secrets } = settingsOf(conf, Object.keys(fn.secrets));
    const config: LambdaConfig = { ...settings, layers };
    const triggers = await captureTriggers(client, fn, unqualifiedArn(conf.FunctionArn ?? ''), ctx.signal);
    const tags = triggersOf(triggers, 'tags')[0]?.tags ?? {};
    const archive = path.join(work, 'bundle.tar');
    const packed = await packBundle(files, archive, ctx.signal);
    return {
      content: {
        platform: 'aws-lambda',
        name: fn.name,
        bundle: { ...packed, format: BUNDLE_FORMAT },
        config: config as unknown as Record<string, unknown>,
        bindings: bindingsOf(config.environment, tags, triggers),
        triggers,
        secrets,
      },
      bundle: streamThenRemove(archive, work),
    };
  } catch (err) {
    await fs.rm(work, { recursive: true, force: true });
    throw err;
  }
}

/** Each layer's content, downloaded (an ARN alone breaks restores once the layer version is deleted). */
async function captureLayers(client: LambdaClient, layers: Layer[], dir: string, signal: AbortSignal) {
  const records: LayerRecord[] = [];
  for (const [i, layer] of layers.entries()) {
    const arn = layer.Arn ?? '';
    const got = await client.send(new GetLayerVersionByArnCommand({ Arn: arn }), { abortSignal: signal });
    if (!got.Content?.Location) throw new Error(`layer ${arn}: Lambda gave no content location`);
    const file = `layers/${String(i + 1).padStart(2, '0')}.zip`;
    const zip = await download(got.Content.Location, path.join(dir, file), `layer ${arn}`, signal);
    records.push({
      arn,
      file,
      sha256: zip.sha256,
      size: zip.size,
      codeSha256: got.Content.CodeSha256 ?? zip.base64Sha256,
      ...(got.CompatibleRuntimes?.length ? { compatibleRuntimes: got.CompatibleRuntimes } : {}),
      ...(got.CompatibleArchitectures?.length
        ? { compatibleArchitectures: got.CompatibleArchitectures }
        : {}),
      ...(got.Description ? { description: got.Description } : {}),
    });
  }
  return records;
}
