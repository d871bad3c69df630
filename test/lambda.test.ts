/**
 * The aws-lambda function platform against a STAND-IN for Lambda's control plane
 * (test/support/lambda-stand-in.ts; nothing real can run here), through the real
 * @aws-sdk/client-lambda. These tests check Lazarus's calls and decisions (what it
 * downloads and records, when it moves an alias, what it recreates, what it refuses),
 * not AWS's behaviour. Function code does run for real: Invoke goes through AWS's Lambda
 * Runtime Interface Emulator with a Node.js handler.
 */
import {
  AddPermissionCommand,
  CreateAliasCommand,
  CreateEventSourceMappingCommand,
  CreateFunctionCommand,
  CreateFunctionUrlConfigCommand,
  DeleteFunctionCommand,
  DeleteLayerVersionCommand,
  LambdaClient,
  PublishLayerVersionCommand,
  PublishVersionCommand,
  PutFunctionConcurrencyCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
} from '@aws-sdk/client-lambda';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FunctionVersion, VersionContent } from '../contracts/functions';
import { lambdaPlatform } from '../functions/aws-lambda/platform';
import { type LambdaFunction, awsLambda } from '../functions/aws-lambda/spec';
import type { LambdaConfig } from '../functions/aws-lambda/content';
import { MissingSecretError, type PlatformContext } from '../functions/platform';
import { ensureLambdaRie } from '../tools/lambda-rie';
import { type LambdaStandIn, startLambdaStandIn } from './support/lambda-stand-in';
import { tempDir } from './support/temp-dir';

const SECRET_VALUE = 'tok-live-4f9a';
let standIn: LambdaStandIn;
let admin: LambdaClient;
let work: string;
let zips: { v1: Buffer; v2: Buffer; throws: Buffer; layer: Buffer };
let counter = 0;

beforeAll(async () => {
  const rie = await ensureLambdaRie((m) => console.log(m));
  standIn = await startLambdaStandIn({ rie });
  work = tempDir('lazarus-lambda-');
  process.env.LZ_LAMBDA_KEY = 'stand-in-key';
  process.env.LZ_LAMBDA_SECRET = 'stand-in-secret';
  admin = new LambdaClient({
    endpoint: standIn.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'stand-in-key', secretAccessKey: 'stand-in-secret' },
  });
  zips = {
    v1: await zipOf('v1', { 'index.mjs': handler('v1') }),
    v2: await zipOf('v2', { 'index.mjs': handler('v2-broken') }),
    throws: await zipOf('throws', {
      'index.mjs': 'export const handler = async () => { throw new TypeError("orders table missing"); };\n',
    }),
    layer: await zipOf('layer', { 'nodejs/shared.mjs': 'export const shared = "layer-1";\n' }),
  };
}, 600_000);

afterAll(async () => {
  admin?.destroy();
  await standIn?.stop();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

beforeEach(() => {
  process.env.LZ_LAMBDA_API_TOKEN = 'tok-restored-7c1d';
  standIn.latencyMs = 0;
  standIn.codeUrlTtlMs = 600_000;
});

function handler(version: string): string {
  return `export const handler = async (event) => ({ version: ${JSON.stringify(version)}, greeting: process.env.GREETING, hasToken: Boolean(process.env.API_TOKEN), event });\n`;
}

/** A zip made by the zip command from `files`. */
async function zipOf(name: string, files: Record<string, string>): Promise<Buffer> {
  const dir = path.join(work, `src-${name}`);
  for (const [file, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await fs.writeFile(path.join(dir, file), content);
  }
  const zip = path.join(work, `${name}.zip`);
  execFileSync('zip', ['-q', '-r', '-X', zip, '.'], { cwd: dir });
  return fs.readFile(zip);
}

/**
 * A function as its team deployed it, through the SDK: v1 published and behind the alias
 * `live`, a layer, plain and secret variables, a URL, permissions, a mapping, concurrency, tags.
 */
async function deployOriginal(): Promise<LambdaFunction> {
  const name = `orders-${++counter}`;
  const layer = await admin.send(
    new PublishLayerVersionCommand({
      LayerName: `${name}-shared`,
      Content: { ZipFile: zips.layer },
      CompatibleRuntimes: ['nodejs20.x'],
    }),
  );
  const created = await admin.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: 'arn:aws:iam::123456789012:role/orders',
      Code: { ZipFile: zips.v1 },
      Layers: [layer.LayerVersionArn!],
      MemorySize: 256,
      Timeout: 10,
      Environment: {
        Variables: { GREETING: 'hello', MEDIA: 'arn:aws:s3:::media-bucket', API_TOKEN: SECRET_VALUE },
      },
      Tags: { team: 'orders' },
      Publish: true,
    }),
  );
  await admin.send(
    new CreateAliasCommand({ FunctionName: name, Name: 'live', FunctionVersion: created.Version }),
  );
  await admin.send(
    new CreateFunctionUrlConfigCommand({
      FunctionName: name,
      Qualifier: 'live',
      AuthType: 'NONE',
      Cors: { AllowOrigins: ['https://shop.example'] },
    }),
  );
  await admin.send(
    new AddPermissionCommand({
      FunctionName: name,
      Qualifier: 'live',
      StatementId: 'url-public',
      Action: 'lambda:InvokeFunctionUrl',
      Principal: '*',
      FunctionUrlAuthType: 'NONE',
    }),
  );
  await admin.send(
    new AddPermissionCommand({
      FunctionName: name,
      StatementId: 's3-invoke',
      Action: 'lambda:InvokeFunction',
      Principal: 's3.amazonaws.com',
      SourceArn: 'arn:aws:s3:::media-bucket',
      SourceAccount: '123456789012',
    }),
  );
  await admin.send(
    new CreateEventSourceMappingCommand({
      FunctionName: `${name}:live`,
      EventSourceArn: 'arn:aws:sqs:us-east-1:123456789012:orders',
      BatchSize: 5,
    }),
  );
  await admin.send(
    new PutFunctionConcurrencyCommand({ FunctionName: name, ReservedConcurrentExecutions: 7 }),
  );
  return awsLambda.schema.parse({
    platform: 'aws-lambda',
    name,
    endpoint: standIn.endpoint,
    access_key_id: { env: 'LZ_LAMBDA_KEY' },
    secret_access_key: { env: 'LZ_LAMBDA_SECRET' },
    secrets: { API_TOKEN: { env: 'LZ_LAMBDA_API_TOKEN' } },
    probe: { payload: { probe: true }, contains: '"version":"v1"' },
  });
}

/** A bad release: v2 published and the alias moved onto it. */
async function releaseBrokenV2(fn: LambdaFunction): Promise<void> {
  await admin.send(new UpdateFunctionCodeCommand({ FunctionName: fn.name, ZipFile: zips.v2 }));
  const v2 = await admin.send(new PublishVersionCommand({ FunctionName: fn.name }));
  await admin.send(
    new UpdateAliasCommand({ FunctionName: fn.name, Name: 'live', FunctionVersion: v2.Version }),
  );
}

function ctx(): PlatformContext {
  return { signal: new AbortController().signal, scratchDir: work };
}

/** Captures and keeps the bundle in a file (as the repository would), returning the version and the file. */
async function capture(fn: LambdaFunction): Promise<{ version: FunctionVersion; file: string }> {
  const captured = await lambdaPlatform.capture(fn, ctx());
  const file = path.join(work, `bundle-${captured.content.bundle.sha256}.tar`);
  await pipeline(captured.bundle, createWriteStream(file));
  return { version: { ...captured.content, id: `fv-${captured.content.bundle.sha256.slice(0, 12)}` }, file };
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');
}

function opsSince(mark: number): string[] {
  return standIn.calls.slice(mark).map((c) => c.op);
}

function config(content: VersionContent): LambdaConfig {
  return content.config as unknown as LambdaConfig;
}

test('capture (stand-in control plane): Lazarus downloads the code before its URL expires, and records layer content, alias, URL config, mappings, policy, concurrency, tags and secret names, never secret values', async () => {
  const fn = await deployOriginal();
  // Every call takes 250 ms and the code URL lives 1 s: only a download made at once succeeds.
  standIn.latencyMs = 250;
  standIn.codeUrlTtlMs = 1000;
  const started = Date.now();
  const { version, file } = await capture(fn);
  expect(Date.now() - started).toBeGreaterThan(2000);
  const late = await fetch(standIn.codeUrls.at(-1)!);
  expect(late.status).toBe(403);

  expect(await sha256(file)).toBe(version.bundle.sha256);
  const unpacked = path.join(work, `unpacked-${fn.name}`);
  await fs.mkdir(unpacked);
  execFileSync('tar', ['-xf', file, '-C', unpacked]);
  expect(await fs.readFile(path.join(unpacked, 'code.zip'))).toEqual(zips.v1);
  const [layer] = config(version).layers;
  expect(await fs.readFile(path.join(unpacked, layer.file))).toEqual(zips.layer);
  expect(layer.sha256).toBe(createHash('sha256').update(zips.layer).digest('hex'));

  expect(config(version)).toMatchObject({
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    memorySize: 256,
    timeout: 10,
    environment: { GREETING: 'hello', MEDIA: 'arn:aws:s3:::media-bucket' },
  });
  expect(version.secrets).toEqual(['API_TOKEN']);
  expect(JSON.stringify(version)).not.toContain(SECRET_VALUE);
  expect(version.triggers).toEqual([
    { type: 'alias', name: 'live', functionVersion: '1', routing: {} },
    {
      type: 'url',
      qualifier: 'live',
      authType: 'NONE',
      invokeMode: 'BUFFERED',
      cors: { AllowOrigins: ['https://shop.example'] },
    },
    {
      type: 'event-source-mapping',
      qualifier: 'live',
      eventSourceArn: 'arn:aws:sqs:us-east-1:123456789012:orders',
      enabled: true,
      batchSize: 5,
    },
    {
      type: 'permission',
      statementId: 's3-invoke',
      action: 'lambda:InvokeFunction',
      principal: 's3.amazonaws.com',
      sourceArn: 'arn:aws:s3:::media-bucket',
      sourceAccount: '123456789012',
    },
    {
      type: 'permission',
      qualifier: 'live',
      statementId: 'url-public',
      action: 'lambda:InvokeFunctionUrl',
      principal: '*',
      functionUrlAuthType: 'NONE',
    },
    { type: 'concurrency', reserved: 7 },
    { type: 'tags', tags: { team: 'orders' } },
  ]);
  expect(lambdaPlatform.boundResources(fn, version)).toEqual({
    MEDIA: expect.objectContaining({ kind: 's3', bucket: 'media-bucket', prefix: '' }),
  });
  expect(opsSince(0)).not.toContain('Invoke');
});

test('capture twice (stand-in control plane): an unchanged function gives the same bundle SHA-256 and the same content', async () => {
  const fn = await deployOriginal();
  const first = await capture(fn);
  const second = await capture(fn);
  expect(second.version.bundle.sha256).toBe(first.version.bundle.sha256);
  expect(await sha256(second.file)).toBe(await sha256(first.file));
  expect(second.version).toEqual(first.version);
});

test('rollback (stand-in control plane): when the captured version is still published, Lazarus moves the alias with UpdateAlias and uploads no code; RIE then answers v1', async () => {
  const fn = await deployOriginal();
  const { version } = await capture(fn);
  await releaseBrokenV2(fn);
  expect((await lambdaPlatform.probe(fn, ctx())).body).toContain('v2-broken');

  const mark = standIn.calls.length;
  const outcome = await lambdaPlatform.rollback!(fn, version, ctx());
  expect(outcome).toMatchObject({ how: 'native-rollback', live: '1' });
  const ops = opsSince(mark);
  expect(ops).toContain('UpdateAlias');
  for (const upload of [
    'UpdateFunctionCode',
    'UpdateFunctionConfiguration',
    'PublishVersion',
    'CreateFunction',
  ])
    expect(ops).not.toContain(upload);
  const probe = await lambdaPlatform.probe(fn, ctx());
  expect(probe).toMatchObject({ ok: true, status: 200 });
  expect(JSON.parse(probe.body)).toMatchObject({ version: 'v1', greeting: 'hello', hasToken: true });

  // Rolling back onto what is live already changes nothing.
  const changes = standIn.mutatingCalls().length;
  expect(await lambdaPlatform.rollback!(fn, version, ctx())).toMatchObject({ how: 'unchanged', live: '1' });
  expect(standIn.mutatingCalls().length).toBe(changes);
});

test('deploy after the version was pruned (stand-in control plane): Lazarus uploads the code and configuration, publishes a version and moves the alias', async () => {
  const fn = await deployOriginal();
  const { version, file } = await capture(fn);
  await releaseBrokenV2(fn);
  await admin.send(new DeleteFunctionCommand({ FunctionName: fn.name, Qualifier: '1' }));
  expect(await lambdaPlatform.rollback!(fn, version, ctx())).toBeUndefined();

  const mark = standIn.calls.length;
  const outcome = await lambdaPlatform.deploy(fn, version, (await fs.open(file)).createReadStream(), ctx());
  expect(outcome).toMatchObject({ how: 'updated', live: '3' });
  expect(opsSince(mark).filter((op) => /^(Update|Publish|Create)/.test(op))).toEqual([
    'UpdateFunctionCode',
    'UpdateFunctionConfiguration',
    'PublishVersion',
    'UpdateAlias',
  ]);
  expect(standIn.fn(fn.name)!.versions.get('3')!.config.Environment).toEqual({
    Variables: { GREETING: 'hello', MEDIA: 'arn:aws:s3:::media-bucket', API_TOKEN: 'tok-restored-7c1d' },
  });
  expect(await lambdaPlatform.probe(fn, ctx())).toMatchObject({ ok: true });
});

test('deploy after the function and its layer were deleted (stand-in control plane): Lazarus recreates the function, republishes the layer from its captured content, and restores alias, URL config, mapping, permissions, concurrency and tags; RIE answers v1', async () => {
  const fn = await deployOriginal();
  const { version, file } = await capture(fn);
  const layerArn = config(version).layers[0].arn;
  await admin.send(new DeleteFunctionCommand({ FunctionName: fn.name }));
  const [layerName, layerNumber] = layerArn.split(':').slice(6);
  await admin.send(
    new DeleteLayerVersionCommand({ LayerName: layerName, VersionNumber: Number(layerNumber) }),
  );
  expect(await lambdaPlatform.rollback!(fn, version, ctx())).toBeUndefined();

  const mark = standIn.calls.length;
  const outcome = await lambdaPlatform.deploy(fn, version, Readable.from(await fs.readFile(file)), ctx());
  expect(outcome).toMatchObject({ how: 'created', live: '1' });
  expect(outcome.endpoint).toMatch(/^https:\/\/.*\.lambda-url\./);
  const mutated = opsSince(mark).filter((op) => /^(Create|Update|Publish|Put|Add|Tag)/.test(op));
  expect(mutated).toEqual([
    'PublishLayerVersion',
    'CreateFunction',
    'CreateAlias',
    'CreateFunctionUrlConfig',
    'CreateEventSourceMapping',
    'AddPermission',
    'AddPermission',
    'PutFunctionConcurrency',
  ]);

  const restored = standIn.fn(fn.name)!;
  expect(restored.aliases.get('live')).toMatchObject({ FunctionVersion: '1' });
  expect(restored.urls.get('live')).toMatchObject({
    AuthType: 'NONE',
    Cors: { AllowOrigins: ['https://shop.example'] },
  });
  expect(restored.concurrency).toBe(7);
  expect(restored.tags).toEqual({ team: 'orders' });
  const layers = restored.latest.config.Layers as { Arn: string }[];
  expect(layers[0].Arn).not.toBe(layerArn);

  // What Lazarus reads back is the captured version, bar the republished layer's ARN.
  const after = await capture(fn);
  expect(after.version.triggers).toEqual(version.triggers);
  expect(config(after.version).layers[0].sha256).toBe(config(version).layers[0].sha256);
  expect(config(after.version).codeSha256).toBe(config(version).codeSha256);

  const probe = await lambdaPlatform.probe(fn, ctx());
  expect(probe.ok).toBe(true);
  expect(JSON.parse(probe.body)).toMatchObject({ version: 'v1', hasToken: true });

  // A retry of the same deploy changes nothing.
  const retry = standIn.mutatingCalls().length;
  expect(
    await lambdaPlatform.deploy(fn, version, Readable.from(await fs.readFile(file)), ctx()),
  ).toMatchObject({
    how: 'unchanged',
  });
  expect(standIn.mutatingCalls().length).toBe(retry);
});

test('deploy with a secret that has no value (stand-in control plane): Lazarus fails with MissingSecretError before any call to Lambda', async () => {
  const fn = await deployOriginal();
  const { version, file } = await capture(fn);
  await admin.send(new DeleteFunctionCommand({ FunctionName: fn.name }));
  delete process.env.LZ_LAMBDA_API_TOKEN;

  const mark = standIn.calls.length;
  const deploy = lambdaPlatform.deploy(fn, version, Readable.from(await fs.readFile(file)), ctx());
  await expect(deploy).rejects.toBeInstanceOf(MissingSecretError);
  await expect(deploy).rejects.toThrow(/API_TOKEN.*LZ_LAMBDA_API_TOKEN is not set/);
  expect(opsSince(mark)).toEqual([]);
  expect(standIn.fn(fn.name)).toBeUndefined();
});

test('quiesce and resume (stand-in control plane): Lazarus sets reserved concurrency to 0, then puts back the one it replaced', async () => {
  const fn = await deployOriginal();
  await lambdaPlatform.quiesce(fn, ctx());
  await lambdaPlatform.quiesce(fn, ctx());
  expect(standIn.fn(fn.name)!.concurrency).toBe(0);
  await expect(lambdaPlatform.probe(fn, ctx())).rejects.toThrow(/Rate Exceeded/);
  // A capture while quiesced records the user's concurrency, not quiesce's 0.
  const { version } = await capture(fn);
  expect(version.triggers).toContainEqual({ type: 'concurrency', reserved: 7 });

  await lambdaPlatform.resume(fn, ctx());
  expect(standIn.fn(fn.name)!.concurrency).toBe(7);
  expect(standIn.fn(fn.name)!.tags).toEqual({ team: 'orders' });
  expect(await lambdaPlatform.probe(fn, ctx())).toMatchObject({ ok: true });
});

test('probe (stand-in control plane): a handler that throws fails the probe, and Lazarus shows the error', async () => {
  const fn = await deployOriginal();
  await admin.send(new UpdateFunctionCodeCommand({ FunctionName: fn.name, ZipFile: zips.throws }));
  const broken = await admin.send(new PublishVersionCommand({ FunctionName: fn.name }));
  await admin.send(
    new UpdateAliasCommand({ FunctionName: fn.name, Name: 'live', FunctionVersion: broken.Version }),
  );
  const probe = await lambdaPlatform.probe(fn, ctx());
  expect(probe.ok).toBe(false);
  expect(probe.body).toMatch(/^Unhandled: .*orders table missing/);
});
