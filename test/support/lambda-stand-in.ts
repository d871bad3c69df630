/**
 * A STAND-IN for AWS Lambda's control plane (nothing real can run here): an HTTP server on
 * 127.0.0.1 answering the REST paths @aws-sdk/client-lambda calls for the operations
 * Lazarus uses, over an in-memory store of functions, versions, aliases, layers, URL
 * configs, event source mappings and policies. It records every call, so tests check
 * Lazarus's calls and decisions; it proves nothing about AWS itself (IAM, eventual
 * consistency, quotas). Code and layer locations are URLs it serves that expire, as
 * Lambda's presigned URLs do. Invoke runs the stored code of the version asked for
 * through AWS's real Runtime Interface Emulator (aws-lambda-rie), with a Node.js
 * Runtime API loop (lambda-bootstrap.js) in the role of Lambda's managed runtime.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, stopProcess, waitForPort } from '../../tools/local-server';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const BOOTSTRAP = path.join(__dirname, 'lambda-bootstrap.js');

type Json = Record<string, unknown>;

interface Version {
  config: Json;
  code: Buffer;
}

interface StoredFunction {
  name: string;
  latest: Version;
  versions: Map<string, Version>;
  nextVersion: number;
  aliases: Map<string, { FunctionVersion: string; RoutingConfig?: Json; Description?: string }>;
  urls: Map<string, Json>;
  /** Statements by qualifier ("" for the function itself). */
  policies: Map<string, Json[]>;
  concurrency?: number;
  tags: Record<string, string>;
}

interface StoredLayer {
  arn: string;
  version: number;
  zip: Buffer;
  meta: Json;
}

export interface Call {
  op: string;
  method: string;
  path: string;
}

/** The operations that change something; reads and Invoke are the others. */
const MUTATING = /^(Create|Update|Delete|Publish|Put|Add|Tag|Untag)/;

export interface LambdaStandIn {
  endpoint: string;
  calls: Call[];
  /** The calls that change state, by operation name. */
  mutatingCalls(): string[];
  /** Code and layer URLs expire this long after GetFunction/GetLayerVersion hands them out. */
  codeUrlTtlMs: number;
  /** Added before every API answer (not downloads): makes a capture take long. */
  latencyMs: number;
  /** The code URLs handed out, in order. */
  codeUrls: string[];
  /** The stand-in's own view of a function, for assertions. */
  fn(name: string): StoredFunction | undefined;
  stop(): Promise<void>;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const notFound = (what: string) => new ApiError(404, 'ResourceNotFoundException', `${what} not found`);

export async function startLambdaStandIn(options: {
  rie: string;
  codeUrlTtlMs?: number;
}): Promise<LambdaStandIn> {
  const functions = new Map<string, StoredFunction>();
  const layers = new Map<string, StoredLayer[]>();
  const mappings = new Map<string, Json>();
  const downloads = new Map<string, { bytes: Buffer; expiresAt: number }>();
  const children = new Set<ChildProcess>();
  const unpacked = mkdtempSync(path.join(os.tmpdir(), 'lambda-stand-in-'));
  let invocations: Promise<unknown> = Promise.resolve();
  let base = '';

  const standIn: LambdaStandIn = {
    endpoint: '',
    calls: [],
    mutatingCalls: () => standIn.calls.map((c) => c.op).filter((op) => MUTATING.test(op)),
    codeUrlTtlMs: options.codeUrlTtlMs ?? 600_000,
    latencyMs: 0,
    codeUrls: [],
    fn: (name) => functions.get(name),
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.all([...children].map(stopProcess));
      await fs.rm(unpacked, { recursive: true, force: true });
    },
  };

  const functionArn = (name: string, qualifier?: string) =>
    `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}${qualifier ? `:${qualifier}` : ''}`;

  /** `name`, `name:qualifier` or an ARN. */
  function parseName(raw: string): { name: string; qualifier?: string } {
    const parts = raw.startsWith('arn:') ? raw.split(':').slice(6) : raw.split(':');
    return { name: parts[0], qualifier: parts[1] };
  }

  function getFunction(raw: string): StoredFunction {
    const fn = functions.get(parseName(raw).name);
    if (!fn) throw notFound(`Function ${raw}`);
    return fn;
  }

  function resolve(fn: StoredFunction, qualifier: string | undefined): Version {
    if (!qualifier || qualifier === '$LATEST') return fn.latest;
    const number = fn.aliases.get(qualifier)?.FunctionVersion ?? qualifier;
    if (number === '$LATEST') return fn.latest;
    const version = fn.versions.get(number);
    if (!version) throw notFound(`Function ${fn.name}:${qualifier}`);
    return version;
  }

  function handOut(bytes: Buffer): string {
    const token = randomUUID();
    downloads.set(token, { bytes, expiresAt: Date.now() + standIn.codeUrlTtlMs });
    return `${base}/_stand-in/code/${token}`;
  }

  const digest = (bytes: Buffer) => createHash('sha256').update(bytes).digest('base64');

  function codeConfig(name: string, body: Json, code: Buffer, version = '$LATEST'): Json {
    return {
      FunctionName: name,
      FunctionArn: functionArn(name, version === '$LATEST' ? undefined : version),
      Runtime: body.Runtime,
      Role: body.Role,
      Handler: body.Handler,
      CodeSize: code.length,
      CodeSha256: digest(code),
      Description: body.Description ?? '',
      Timeout: body.Timeout ?? 3,
      MemorySize: body.MemorySize ?? 128,
      Version: version,
      Environment: { Variables: (body.Environment as Json | undefined)?.Variables ?? {} },
      Layers: ((body.Layers as string[] | undefined) ?? []).map((arn) => ({
        Arn: arn,
        CodeSize: layerByArn(arn).zip.length,
      })),
      Architectures: body.Architectures ?? ['x86_64'],
      EphemeralStorage: { Size: (body.EphemeralStorage as Json | undefined)?.Size ?? 512 },
      PackageType: 'Zip',
      State: 'Active',
      LastUpdateStatus: 'Successful',
      LastModified: new Date().toISOString(),
      RevisionId: randomUUID(),
    };
  }

  function layerByArn(arn: string): StoredLayer {
    const [name, version] = arn.split(':').slice(6);
    const layer = layers.get(name)?.find((l) => l.version === Number(version));
    if (!layer) throw notFound(`Layer version ${arn}`);
    return layer;
  }

  function layerAnswer(layer: StoredLayer): Json {
    return {
      ...layer.meta,
      LayerArn: layer.arn.split(':').slice(0, 7).join(':'),
      LayerVersionArn: layer.arn,
      Version: layer.version,
      Content: { Location: handOut(layer.zip), CodeSha256: digest(layer.zip), CodeSize: layer.zip.length },
    };
  }

  /** The settings that make two versions the same, for PublishVersion's "nothing changed". */
  const sameSettings = (a: Json, b: Json) => {
    const pick = ({ Version: _v, FunctionArn: _a, LastModified: _m, RevisionId: _r, ...rest }: Json) => rest;
    return JSON.stringify(pick(a)) === JSON.stringify(pick(b));
  };

  function statementOf(fn: StoredFunction, qualifier: string | undefined, body: Json): Json {
    const principal = String(body.Principal);
    const condition: Record<string, Record<string, string>> = {};
    const add = (op: string, key: string, value: unknown) => {
      if (value !== undefined) condition[op] = { ...condition[op], [key]: String(value) };
    };
    add('ArnLike', 'AWS:SourceArn', body.SourceArn);
    add('StringEquals', 'AWS:SourceAccount', body.SourceAccount);
    add('StringEquals', 'lambda:FunctionUrlAuthType', body.FunctionUrlAuthType);
    add('StringEquals', 'aws:PrincipalOrgID', body.PrincipalOrgID);
    return {
      Sid: body.StatementId,
      Effect: 'Allow',
      Principal: principal.includes('.')
        ? { Service: principal }
        : principal === '*'
          ? '*'
          : { AWS: principal },
      Action: body.Action,
      Resource: functionArn(fn.name, qualifier),
      ...(Object.keys(condition).length ? { Condition: condition } : {}),
    };
  }

  async function invoke(fn: StoredFunction, version: Version, payload: Buffer) {
    const dir = path.join(unpacked, createHash('sha256').update(version.code).digest('hex'));
    await fs.mkdir(dir, { recursive: true });
    const zip = `${dir}.zip`;
    await fs.writeFile(zip, version.code);
    execFileSync('unzip', ['-q', '-o', zip, '-d', dir]);
    const [apiPort, runtimePort] = [await freePort(), await freePort()];
    const vars = ((version.config.Environment as Json).Variables ?? {}) as Record<string, string>;
    const child = spawn(
      options.rie,
      [
        '--runtime-interface-emulator-address',
        `127.0.0.1:${apiPort}`,
        '--runtime-api-address',
        `127.0.0.1:${runtimePort}`,
        'node',
        BOOTSTRAP,
      ],
      {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          ...vars,
          _HANDLER: String(version.config.Handler),
          LAMBDA_TASK_ROOT: dir,
          AWS_LAMBDA_FUNCTION_NAME: fn.name,
          AWS_LAMBDA_FUNCTION_VERSION: String(version.config.Version),
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    children.add(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      await waitForPort('aws-lambda-rie', apiPort, child, () => stderr);
      const res = await fetch(`http://127.0.0.1:${apiPort}/2015-03-31/functions/function/invocations`, {
        method: 'POST',
        body: payload,
      });
      return res.text();
    } finally {
      await stopProcess(child);
      children.delete(child);
    }
  }

  /** RIE answers a handler's error as its JSON, with status 200: the shape the bootstrap posts to /error. */
  function isErrorAnswer(body: string): boolean {
    try {
      const parsed = JSON.parse(body) as Json;
      return (
        typeof parsed === 'object' && parsed !== null && 'errorType' in parsed && 'errorMessage' in parsed
      );
    } catch {
      return false;
    }
  }

  type Handler = (
    m: string[],
    q: URLSearchParams,
    body: Json,
    raw: Buffer,
  ) => Json | Promise<Json> | { status: number; json?: Json; raw?: Buffer; headers?: Record<string, string> };
  const routes: [string, RegExp, string, Handler][] = [
    [
      'GET',
      /^\/2015-03-31\/functions\/([^/]+)$/,
      'GetFunction',
      ([f], q) => {
        const fn = getFunction(f);
        const version = resolve(fn, q.get('Qualifier') ?? parseName(f).qualifier);
        const code = { RepositoryType: 'S3', Location: handOut(version.code) };
        standIn.codeUrls.push(code.Location);
        return { Configuration: version.config, Code: code, Tags: fn.tags };
      },
    ],
    [
      'DELETE',
      /^\/2015-03-31\/functions\/([^/]+)$/,
      'DeleteFunction',
      ([f], q) => {
        const fn = getFunction(f);
        const qualifier = q.get('Qualifier') ?? parseName(f).qualifier;
        if (qualifier) {
          // One version (as pruning does); Lambda refuses while an alias points at it.
          if ([...fn.aliases.values()].some((a) => a.FunctionVersion === qualifier))
            throw new ApiError(409, 'ResourceConflictException', `an alias points at version ${qualifier}`);
          fn.versions.delete(qualifier);
          return { status: 204 };
        }
        functions.delete(fn.name);
        for (const [uuid, m] of mappings)
          if (parseName(String(m.FunctionArn)).name === fn.name) mappings.delete(uuid);
        return { status: 204 };
      },
    ],
    [
      'POST',
      /^\/2015-03-31\/functions$/,
      'CreateFunction',
      (_m, _q, body) => {
        const name = String(body.FunctionName);
        if (functions.has(name))
          throw new ApiError(409, 'ResourceConflictException', `Function already exist: ${name}`);
        const code = Buffer.from(String((body.Code as Json).ZipFile), 'base64');
        const fn: StoredFunction = {
          name,
          latest: { config: codeConfig(name, body, code), code },
          versions: new Map(),
          nextVersion: 1,
          aliases: new Map(),
          urls: new Map(),
          policies: new Map(),
          tags: { ...((body.Tags as Record<string, string> | undefined) ?? {}) },
        };
        functions.set(name, fn);
        return { status: 201, json: body.Publish ? publish(fn) : fn.latest.config };
      },
    ],
    [
      'GET',
      /^\/2015-03-31\/functions\/([^/]+)\/configuration$/,
      'GetFunctionConfiguration',
      ([f], q) => resolve(getFunction(f), q.get('Qualifier') ?? parseName(f).qualifier).config,
    ],
    [
      'PUT',
      /^\/2015-03-31\/functions\/([^/]+)\/configuration$/,
      'UpdateFunctionConfiguration',
      ([f], _q, body) => {
        const fn = getFunction(f);
        const settings = { ...currentSettings(fn), ...body };
        fn.latest = { config: codeConfig(fn.name, settings, fn.latest.code), code: fn.latest.code };
        return fn.latest.config;
      },
    ],
    [
      'PUT',
      /^\/2015-03-31\/functions\/([^/]+)\/code$/,
      'UpdateFunctionCode',
      ([f], _q, body) => {
        const fn = getFunction(f);
        const code = Buffer.from(String(body.ZipFile), 'base64');
        const settings = currentSettings(fn);
        fn.latest = {
          config: codeConfig(
            fn.name,
            { ...settings, ...(body.Architectures ? { Architectures: body.Architectures } : {}) },
            code,
          ),
          code,
        };
        return fn.latest.config;
      },
    ],
    [
      'POST',
      /^\/2015-03-31\/functions\/([^/]+)\/versions$/,
      'PublishVersion',
      ([f], _q, body) => {
        const fn = getFunction(f);
        if (body.CodeSha256 && body.CodeSha256 !== fn.latest.config.CodeSha256)
          throw new ApiError(412, 'PreconditionFailedException', 'CodeSha256 does not match $LATEST');
        return { status: 201, json: publish(fn) };
      },
    ],
    [
      'GET',
      /^\/2015-03-31\/functions\/([^/]+)\/versions$/,
      'ListVersionsByFunction',
      ([f]) => {
        const fn = getFunction(f);
        return { Versions: [fn.latest.config, ...[...fn.versions.values()].map((v) => v.config)] };
      },
    ],
    [
      'POST',
      /^\/2015-03-31\/functions\/([^/]+)\/aliases$/,
      'CreateAlias',
      ([f], _q, body) => {
        const fn = getFunction(f);
        const name = String(body.Name);
        if (fn.aliases.has(name))
          throw new ApiError(409, 'ResourceConflictException', `Alias already exists: ${name}`);
        resolve(fn, String(body.FunctionVersion));
        fn.aliases.set(name, {
          FunctionVersion: String(body.FunctionVersion),
          RoutingConfig: body.RoutingConfig as Json,
        });
        return { status: 201, json: aliasAnswer(fn, name) };
      },
    ],
    [
      'GET',
      /^\/2015-03-31\/functions\/([^/]+)\/aliases$/,
      'ListAliases',
      ([f]) => {
        const fn = getFunction(f);
        return { Aliases: [...fn.aliases.keys()].map((name) => aliasAnswer(fn, name)) };
      },
    ],
    [
      'GET',
      /^\/2015-03-31\/functions\/([^/]+)\/aliases\/([^/]+)$/,
      'GetAlias',
      ([f, a]) => aliasAnswer(getFunction(f), a),
    ],
    [
      'PUT',
      /^\/2015-03-31\/functions\/([^/]+)\/aliases\/([^/]+)$/,
      'UpdateAlias',
      ([f, a], _q, body) => {
        const fn = getFunction(f);
        const alias = fn.aliases.get(a);
        if (!alias) throw notFound(`Alias ${a}`);
        if (body.FunctionVersion) {
          resolve(fn, String(body.FunctionVersion));
          alias.FunctionVersion = String(body.FunctionVersion);
        }
        if (body.RoutingConfig) alias.RoutingConfig = body.RoutingConfig as Json;
        return aliasAnswer(fn, a);
      },
    ],
    [
      'GET',
      /^\/2015-03-31\/functions\/([^/]+)\/policy$/,
      'GetPolicy',
      ([f], q) => {
        const fn = getFunction(f);
        const statements = fn.policies.get(q.get('Qualifier') ?? '') ?? [];
        if (statements.length === 0) throw notFound('The resource you requested does not exist.');
        return {
          Policy: JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: statements }),
          RevisionId: 'r',
        };
      },
    ],
    [
      'POST',
      /^\/2015-03-31\/functions\/([^/]+)\/policy$/,
      'AddPermission',
      ([f], q, body) => {
        const fn = getFunction(f);
        const qualifier = q.get('Qualifier') ?? undefined;
        const statements = fn.policies.get(qualifier ?? '') ?? [];
        if (statements.some((s) => s.Sid === body.StatementId))
          throw new ApiError(
            409,
            'ResourceConflictException',
            `The statement id (${body.StatementId}) provided already exists.`,
          );
        const statement = statementOf(fn, qualifier, body);
        fn.policies.set(qualifier ?? '', [...statements, statement]);
        return { status: 201, json: { Statement: JSON.stringify(statement) } };
      },
    ],
    [
      'POST',
      /^\/2015-03-31\/functions\/([^/]+)\/invocations$/,
      'Invoke',
      async ([f], q, _body, raw) => {
        const fn = getFunction(f);
        const qualifier = q.get('Qualifier') ?? parseName(f).qualifier;
        const version = resolve(fn, qualifier);
        if (fn.concurrency === 0)
          throw new ApiError(429, 'TooManyRequestsException', 'Rate Exceeded. (reserved concurrency 0)');
        const run = invocations.then(() => invoke(fn, version, raw));
        invocations = run.catch(() => undefined);
        const answer = await run;
        const headers: Record<string, string> = { 'X-Amz-Executed-Version': String(version.config.Version) };
        if (isErrorAnswer(answer)) headers['X-Amz-Function-Error'] = 'Unhandled';
        return { status: 200, raw: Buffer.from(answer), headers };
      },
    ],
    [
      'GET',
      /^\/2015-03-31\/event-source-mappings\/?$/,
      'ListEventSourceMappings',
      (_m, q) => {
        const wanted = q.get('FunctionName');
        const target = wanted && parseName(wanted);
        const list = [...mappings.values()].filter((m) => {
          if (!target) return true;
          const of = parseName(String(m.FunctionArn));
          return of.name === target.name && of.qualifier === target.qualifier;
        });
        return { EventSourceMappings: list };
      },
    ],
    [
      'POST',
      /^\/2015-03-31\/event-source-mappings\/?$/,
      'CreateEventSourceMapping',
      (_m, _q, body) => {
        const target = parseName(String(body.FunctionName));
        getFunction(target.name);
        const uuid = randomUUID();
        const mapping: Json = {
          UUID: uuid,
          EventSourceArn: body.EventSourceArn,
          FunctionArn: functionArn(target.name, target.qualifier),
          BatchSize: body.BatchSize ?? 10,
          State: body.Enabled === false ? 'Disabled' : 'Enabled',
          LastModified: Date.now() / 1000,
          ...(body.StartingPosition ? { StartingPosition: body.StartingPosition } : {}),
          ...(body.MaximumBatchingWindowInSeconds !== undefined
            ? { MaximumBatchingWindowInSeconds: body.MaximumBatchingWindowInSeconds }
            : {}),
          ...(body.FunctionResponseTypes ? { FunctionResponseTypes: body.FunctionResponseTypes } : {}),
          ...(body.FilterCriteria ? { FilterCriteria: body.FilterCriteria } : {}),
        };
        mappings.set(uuid, mapping);
        return { status: 202, json: mapping };
      },
    ],
    [
      'GET',
      /^\/2021-10-31\/functions\/([^/]+)\/url$/,
      'GetFunctionUrlConfig',
      ([f], q) => {
        const url = getFunction(f).urls.get(q.get('Qualifier') ?? '');
        if (!url) throw notFound('The resource you requested does not exist.');
        return url;
      },
    ],
    [
      'POST',
      /^\/2021-10-31\/functions\/([^/]+)\/url$/,
      'CreateFunctionUrlConfig',
      ([f], q, body) => {
        const fn = getFunction(f);
        const qualifier = q.get('Qualifier') ?? '';
        if (fn.urls.has(qualifier)) throw new ApiError(409, 'ResourceConflictException', 'URL config exists');
        const url: Json = {
          FunctionUrl: `https://${randomUUID().replace(/-/g, '')}.lambda-url.${REGION}.on.aws/`,
          FunctionArn: functionArn(fn.name, qualifier || undefined),
          AuthType: body.AuthType,
          ...(body.Cors ? { Cors: body.Cors } : {}),
          InvokeMode: body.InvokeMode ?? 'BUFFERED',
          CreationTime: new Date().toISOString(),
          LastModifiedTime: new Date().toISOString(),
        };
        fn.urls.set(qualifier, url);
        return { status: 201, json: url };
      },
    ],
    [
      'PUT',
      /^\/2021-10-31\/functions\/([^/]+)\/url$/,
      'UpdateFunctionUrlConfig',
      ([f], q, body) => {
        const url = getFunction(f).urls.get(q.get('Qualifier') ?? '');
        if (!url) throw notFound('The resource you requested does not exist.');
        Object.assign(url, body, { LastModifiedTime: new Date().toISOString() });
        return url;
      },
    ],
    [
      'GET',
      /^\/2019-09-30\/functions\/([^/]+)\/concurrency$/,
      'GetFunctionConcurrency',
      ([f]) => {
        const fn = getFunction(f);
        return fn.concurrency === undefined ? {} : { ReservedConcurrentExecutions: fn.concurrency };
      },
    ],
    [
      'PUT',
      /^\/2017-10-31\/functions\/([^/]+)\/concurrency$/,
      'PutFunctionConcurrency',
      ([f], _q, body) => {
        const fn = getFunction(f);
        fn.concurrency = Number(body.ReservedConcurrentExecutions);
        return { ReservedConcurrentExecutions: fn.concurrency };
      },
    ],
    [
      'DELETE',
      /^\/2017-10-31\/functions\/([^/]+)\/concurrency$/,
      'DeleteFunctionConcurrency',
      ([f]) => {
        delete getFunction(f).concurrency;
        return { status: 204 };
      },
    ],
    ['GET', /^\/2017-03-31\/tags\/([^/]+)$/, 'ListTags', ([arn]) => ({ Tags: getFunction(arn).tags })],
    [
      'POST',
      /^\/2017-03-31\/tags\/([^/]+)$/,
      'TagResource',
      ([arn], _q, body) => {
        Object.assign(getFunction(arn).tags, body.Tags);
        return { status: 204 };
      },
    ],
    [
      'DELETE',
      /^\/2017-03-31\/tags\/([^/]+)$/,
      'UntagResource',
      ([arn], q) => {
        const fn = getFunction(arn);
        for (const key of q.getAll('tagKeys')) delete fn.tags[key];
        return { status: 204 };
      },
    ],
    [
      'GET',
      /^\/2018-10-31\/layers$/,
      'GetLayerVersionByArn',
      (_m, q) => layerAnswer(layerByArn(q.get('Arn') ?? '')),
    ],
    [
      'GET',
      /^\/2018-10-31\/layers\/([^/]+)\/versions\/(\d+)$/,
      'GetLayerVersion',
      ([name, v]) => layerAnswer(layerByArn(`arn:aws:lambda:${REGION}:${ACCOUNT}:layer:${name}:${v}`)),
    ],
    [
      'DELETE',
      /^\/2018-10-31\/layers\/([^/]+)\/versions\/(\d+)$/,
      'DeleteLayerVersion',
      ([name, v]) => {
        layers.set(
          name,
          (layers.get(name) ?? []).filter((l) => l.version !== Number(v)),
        );
        return { status: 204 };
      },
    ],
    [
      'GET',
      /^\/2018-10-31\/layers\/([^/]+)\/versions$/,
      'ListLayerVersions',
      ([name]) => ({
        LayerVersions: [...(layers.get(name) ?? [])]
          .reverse()
          .map((l) => ({ LayerVersionArn: l.arn, Version: l.version, ...l.meta })),
      }),
    ],
    [
      'POST',
      /^\/2018-10-31\/layers\/([^/]+)\/versions$/,
      'PublishLayerVersion',
      ([name], _q, body) => {
        const list = layers.get(name) ?? [];
        // Lambda never reuses a number, even after deletes.
        const version = Math.max(0, ...list.map((l) => l.version), layerHighWater.get(name) ?? 0) + 1;
        layerHighWater.set(name, version);
        const layer: StoredLayer = {
          arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:${name}:${version}`,
          version,
          zip: Buffer.from(String((body.Content as Json).ZipFile), 'base64'),
          meta: {
            Description: body.Description ?? '',
            CompatibleRuntimes: body.CompatibleRuntimes ?? [],
            CompatibleArchitectures: body.CompatibleArchitectures ?? [],
            CreatedDate: new Date().toISOString(),
          },
        };
        layers.set(name, [...list, layer]);
        return { status: 201, json: layerAnswer(layer) };
      },
    ],
  ];
  const layerHighWater = new Map<string, number>();

  function publish(fn: StoredFunction): Json {
    const last = [...fn.versions.values()].at(-1);
    if (last && last.code.equals(fn.latest.code) && sameSettings({ ...last.config }, { ...fn.latest.config }))
      return last.config;
    const number = String(fn.nextVersion++);
    const config = { ...fn.latest.config, Version: number, FunctionArn: functionArn(fn.name, number) };
    fn.versions.set(number, { config, code: fn.latest.code });
    return config;
  }

  /** $LATEST's settings in the form a create or update request gives them. */
  function currentSettings(fn: StoredFunction): Json {
    return { ...fn.latest.config, Layers: (fn.latest.config.Layers as Json[]).map((l) => l.Arn) };
  }

  function aliasAnswer(fn: StoredFunction, name: string): Json {
    const alias = fn.aliases.get(name);
    if (!alias) throw notFound(`Alias ${name} of ${fn.name}`);
    return { AliasArn: functionArn(fn.name, name), Name: name, ...alias, RevisionId: 'r' };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? '/', base);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    if (url.pathname.startsWith('/_stand-in/code/')) {
      const download = downloads.get(url.pathname.split('/').pop()!);
      if (!download || Date.now() > download.expiresAt) {
        res.writeHead(403, { 'content-type': 'application/xml' });
        res.end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': download.bytes.length });
      res.end(download.bytes);
      return;
    }
    const route = routes.find(([method, pattern]) => method === req.method && pattern.test(url.pathname));
    if (!route)
      return send(
        res,
        404,
        { message: `stand-in: no route for ${req.method} ${url.pathname}` },
        'UnknownOperationException',
      );
    const [, pattern, op, handler] = route;
    standIn.calls.push({ op, method: req.method!, path: url.pathname });
    if (standIn.latencyMs > 0) await new Promise((r) => setTimeout(r, standIn.latencyMs));
    try {
      const params = pattern.exec(url.pathname)!.slice(1).map(decodeURIComponent);
      const body = op === 'Invoke' || raw.length === 0 ? {} : (JSON.parse(raw.toString()) as Json);
      const answer = await handler(params, url.searchParams, body, raw);
      if (typeof answer.status === 'number') {
        const {
          status,
          json,
          raw: bytes,
          headers,
        } = answer as { status: number; json?: Json; raw?: Buffer; headers?: Record<string, string> };
        res.writeHead(status, {
          'content-type': bytes ? 'application/octet-stream' : 'application/json',
          ...headers,
        });
        res.end(bytes ?? (json ? JSON.stringify(json) : ''));
      } else send(res, 200, answer as Json);
    } catch (err) {
      if (err instanceof ApiError) send(res, err.status, { Type: 'User', message: err.message }, err.type);
      else send(res, 500, { message: String(err) }, 'ServiceException');
    }
  }

  function send(res: http.ServerResponse, status: number, json: Json, errorType?: string) {
    res.writeHead(status, {
      'content-type': 'application/json',
      ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
    });
    res.end(JSON.stringify(json));
  }

  const server = http.createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  standIn.endpoint = base;
  return standIn;
}
