/**
 * What points at a Lambda function from outside its code: the alias, its function URL,
 * event source mappings, resource-policy statements, reserved concurrency and tags.
 * Captured as the settings that recreate them (never Lambda's own ids and times, so an
 * unchanged function captures the same), and restored by adding what is missing: a retry,
 * or a deploy onto a function that kept its triggers, changes nothing.
 */
import {
  AddPermissionCommand,
  CreateAliasCommand,
  CreateEventSourceMappingCommand,
  CreateFunctionUrlConfigCommand,
  DeleteFunctionConcurrencyCommand,
  type EventSourceMappingConfiguration,
  type FunctionUrlAuthType,
  GetAliasCommand,
  GetFunctionConcurrencyCommand,
  GetFunctionUrlConfigCommand,
  GetPolicyCommand,
  type InvokeMode,
  type LambdaClient,
  ListTagsCommand,
  PutFunctionConcurrencyCommand,
  TagResourceCommand,
  UpdateAliasCommand,
  UpdateFunctionUrlConfigCommand,
  paginateListAliases,
  paginateListEventSourceMappings,
} from '@aws-sdk/client-lambda';
import canonicalize from 'canonicalize';
import { unlessNotFound } from './lambda-api';
import {
  LAZARUS_TAG_PREFIX,
  type LambdaTrigger,
  type MappingSettings,
  type PermissionSettings,
  QUIESCED_TAG,
  qualifierOf,
  triggersOf,
} from './content';
import type { LambdaFunction } from './spec';

type Signal = { abortSignal: AbortSignal };

/** Every trigger of the function and its alias, in a stable order. */
export async function captureTriggers(
  client: LambdaClient,
  fn: LambdaFunction,
  functionArn: string,
  signal: AbortSignal,
): Promise<LambdaTrigger[]> {
  const opts = { abortSignal: signal };
  const allTags = (await client.send(new ListTagsCommand({ Resource: functionArn }), opts)).Tags ?? {};
  const tags = Object.fromEntries(
    Object.entries(allTags)
      .filter(([key]) => !key.startsWith(LAZARUS_TAG_PREFIX) && !key.startsWith('aws:'))
      .sort(([a], [b]) => a.localeCompare(b)),
  );
  return [
    ...(await captureAlias(client, fn, opts)),
    ...(await captureUrl(client, fn, opts)),
    ...(await captureMappings(client, fn, opts)),
    ...(await capturePermissions(client, fn, opts)),
    { type: 'concurrency', reserved: await reservedConcurrency(client, fn, allTags, opts) },
    { type: 'tags', tags },
  ];
}

async function captureAlias(
  client: LambdaClient,
  fn: LambdaFunction,
  opts: Signal,
): Promise<LambdaTrigger[]> {
  for await (const page of paginateListAliases({ client }, { FunctionName: fn.name }, opts))
    for (const alias of page.Aliases ?? [])
      if (alias.Name === fn.alias)
        return [
          {
            type: 'alias',
            name: alias.Name,
            functionVersion: alias.FunctionVersion ?? '$LATEST',
            routing: alias.RoutingConfig?.AdditionalVersionWeights ?? {},
          },
        ];
  return [];
}

async function captureUrl(client: LambdaClient, fn: LambdaFunction, opts: Signal): Promise<LambdaTrigger[]> {
  const url = await unlessNotFound(
    client.send(new GetFunctionUrlConfigCommand({ FunctionName: fn.name, Qualifier: fn.alias }), opts),
  );
  if (!url) return [];
  return [
    {
      type: 'url',
      qualifier: fn.alias,
      authType: url.AuthType ?? 'AWS_IAM',
      ...(url.InvokeMode ? { invokeMode: url.InvokeMode } : {}),
      ...(url.Cors ? { cors: url.Cors } : {}),
    },
  ];
}

/** The names mappings can target: the function itself and its alias. */
function targets(fn: LambdaFunction): { name: string; qualifier?: string }[] {
  return [{ name: fn.name }, { name: `${fn.name}:${fn.alias}`, qualifier: fn.alias }];
}

async function listMappings(client: LambdaClient, fn: LambdaFunction, opts: Signal) {
  const byUuid = new Map<string, EventSourceMappingConfiguration>();
  for (const { name } of targets(fn))
    for await (const page of paginateListEventSourceMappings({ client }, { FunctionName: name }, opts))
      for (const mapping of page.EventSourceMappings ?? []) byUuid.set(mapping.UUID ?? '', mapping);
  return [...byUuid.values()].map(mappingSettings);
}

function mappingSettings(m: EventSourceMappingConfiguration): MappingSettings & { qualifier?: string } {
  const qualifier = m.FunctionArn ? qualifierOf(m.FunctionArn) : undefined;
  const patterns = (m.FilterCriteria?.Filters ?? []).map((f) => f.Pattern ?? '');
  return {
    ...(qualifier ? { qualifier } : {}),
    eventSourceArn: m.EventSourceArn ?? '',
    enabled: m.State !== 'Disabled' && m.State !== 'Disabling',
    ...(m.BatchSize !== undefined ? { batchSize: m.BatchSize } : {}),
    ...(m.StartingPosition ? { startingPosition: m.StartingPosition } : {}),
    ...(m.MaximumBatchingWindowInSeconds !== undefined
      ? { maximumBatchingWindowInSeconds: m.MaximumBatchingWindowInSeconds }
      : {}),
    ...(m.FunctionResponseTypes?.length ? { functionResponseTypes: m.FunctionResponseTypes } : {}),
    ...(patterns.length ? { filterPatterns: patterns } : {}),
  };
}

async function captureMappings(client: LambdaClient, fn: LambdaFunction, opts: Signal) {
  const mappings = await listMappings(client, fn, opts);
  return sortedBy(
    mappings.map((m): LambdaTrigger => ({ type: 'event-source-mapping', ...m })),
    (m) => `${(m.type === 'event-source-mapping' && m.qualifier) || ''}|${canonicalize(m)}`,
  );
}

interface PolicyStatement {
  Sid?: string;
  Action?: string | string[];
  Principal?: string | { Service?: string; AWS?: string };
  Resource?: string;
  Condition?: Record<string, Record<string, string>>;
}

/** The statements of the function's and its alias's resource policies, as AddPermission calls. */
async function listPermissions(client: LambdaClient, fn: LambdaFunction, opts: Signal) {
  const permissions: (PermissionSettings & { qualifier?: string })[] = [];
  for (const qualifier of [undefined, fn.alias]) {
    const policy = await unlessNotFound(
      client.send(new GetPolicyCommand({ FunctionName: fn.name, Qualifier: qualifier }), opts),
    );
    const statements = (JSON.parse(policy?.Policy ?? '{}') as { Statement?: PolicyStatement[] }).Statement;
    for (const statement of statements ?? [])
      permissions.push({ ...(qualifier ? { qualifier } : {}), ...permissionOf(statement) });
  }
  return permissions;
}

/**
 * A statement as AddPermission's fields. Conditions other than these four (which are all
 * AddPermission can write) cannot be recreated through it, and are not captured.
 */
function permissionOf(s: PolicyStatement): PermissionSettings {
  const principal =
    typeof s.Principal === 'string' ? s.Principal : (s.Principal?.Service ?? s.Principal?.AWS ?? '*');
  const c = s.Condition ?? {};
  const optional = {
    sourceArn: c.ArnLike?.['AWS:SourceArn'],
    sourceAccount: c.StringEquals?.['AWS:SourceAccount'],
    functionUrlAuthType: c.StringEquals?.['lambda:FunctionUrlAuthType'],
    principalOrgId: c.StringEquals?.['aws:PrincipalOrgID'],
  };
  return {
    statementId: s.Sid ?? '',
    action: Array.isArray(s.Action) ? s.Action[0] : (s.Action ?? 'lambda:InvokeFunction'),
    principal,
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
  };
}

async function capturePermissions(client: LambdaClient, fn: LambdaFunction, opts: Signal) {
  const permissions = await listPermissions(client, fn, opts);
  return sortedBy(
    permissions.map((p): LambdaTrigger => ({ type: 'permission', ...p })),
    (p) => (p.type === 'permission' ? `${p.qualifier ?? ''}|${p.statementId}` : ''),
  );
}

/** The reserved concurrency, or what quiesce set aside (a quiesced function's 0 is Lazarus's, not the user's). */
async function reservedConcurrency(
  client: LambdaClient,
  fn: LambdaFunction,
  tags: Record<string, string>,
  opts: Signal,
): Promise<number | null> {
  if (tags[QUIESCED_TAG] !== undefined) return parseConcurrencyTag(tags[QUIESCED_TAG]);
  const got = await client.send(new GetFunctionConcurrencyCommand({ FunctionName: fn.name }), opts);
  return got.ReservedConcurrentExecutions ?? null;
}

export function parseConcurrencyTag(value: string): number | null {
  return value === 'none' ? null : Number(value);
}

export function concurrencyTag(reserved: number | null): string {
  return reserved === null ? 'none' : String(reserved);
}

/** Points the alias at `version` (creating it); false when it pointed there already. */
export async function pointAlias(
  client: LambdaClient,
  fn: LambdaFunction,
  version: string,
  routing: Record<string, number>,
  signal: AbortSignal,
): Promise<boolean> {
  const opts = { abortSignal: signal };
  const alias = await unlessNotFound(
    client.send(new GetAliasCommand({ FunctionName: fn.name, Name: fn.alias }), opts),
  );
  const wanted = {
    FunctionName: fn.name,
    Name: fn.alias,
    FunctionVersion: version,
    RoutingConfig: { AdditionalVersionWeights: routing },
  };
  if (!alias) {
    await client.send(new CreateAliasCommand(wanted), opts);
    return true;
  }
  const same =
    alias.FunctionVersion === version &&
    canonicalize(alias.RoutingConfig?.AdditionalVersionWeights ?? {}) === canonicalize(routing);
  if (!same) await client.send(new UpdateAliasCommand(wanted), opts);
  return !same;
}

/**
 * Recreates the version's URL config, mappings, permissions, tags and concurrency where
 * they are missing or differ (the alias exists already). Returns the function URL, if any.
 * Extra triggers added since the capture are left alone: removing them is the user's call.
 */
export async function ensureTriggers(
  client: LambdaClient,
  fn: LambdaFunction,
  triggers: unknown[],
  functionArn: string,
  signal: AbortSignal,
): Promise<string | undefined> {
  const opts = { abortSignal: signal };
  const endpoint = await ensureUrl(client, fn, triggers, opts);
  const mappings = new Set((await listMappings(client, fn, opts)).map(mappingKey));
  for (const m of triggersOf(triggers, 'event-source-mapping'))
    if (!mappings.has(mappingKey(m)))
      await client.send(
        new CreateEventSourceMappingCommand({
          FunctionName: m.qualifier ? `${fn.name}:${m.qualifier}` : fn.name,
          EventSourceArn: m.eventSourceArn,
          Enabled: m.enabled,
          BatchSize: m.batchSize,
          StartingPosition: m.startingPosition as never,
          MaximumBatchingWindowInSeconds: m.maximumBatchingWindowInSeconds,
          FunctionResponseTypes: m.functionResponseTypes as never,
          ...(m.filterPatterns
            ? { FilterCriteria: { Filters: m.filterPatterns.map((Pattern) => ({ Pattern })) } }
            : {}),
        }),
        opts,
      );
  const statements = new Set(
    (await listPermissions(client, fn, opts)).map((p) => `${p.qualifier}|${p.statementId}`),
  );
  for (const p of triggersOf(triggers, 'permission'))
    if (!statements.has(`${p.qualifier}|${p.statementId}`))
      await client.send(
        new AddPermissionCommand({
          FunctionName: fn.name,
          Qualifier: p.qualifier,
          StatementId: p.statementId,
          Action: p.action,
          Principal: p.principal,
          SourceArn: p.sourceArn,
          SourceAccount: p.sourceAccount,
          FunctionUrlAuthType: p.functionUrlAuthType as FunctionUrlAuthType | undefined,
          PrincipalOrgID: p.principalOrgId,
        }),
        opts,
      );
  await ensureTagsAndConcurrency(client, fn, triggers, functionArn, opts);
  return endpoint;
}

function mappingKey(m: MappingSettings & { qualifier?: string }): string {
  return `${m.qualifier}|${m.eventSourceArn}`;
}

async function ensureUrl(client: LambdaClient, fn: LambdaFunction, triggers: unknown[], opts: Signal) {
  let endpoint: string | undefined;
  for (const url of triggersOf(triggers, 'url')) {
    const wanted = {
      FunctionName: fn.name,
      Qualifier: url.qualifier,
      AuthType: url.authType as FunctionUrlAuthType,
      InvokeMode: url.invokeMode as InvokeMode | undefined,
      Cors: url.cors,
    };
    const current = await unlessNotFound(
      client.send(new GetFunctionUrlConfigCommand({ FunctionName: fn.name, Qualifier: url.qualifier }), opts),
    );
    if (!current)
      endpoint = (await client.send(new CreateFunctionUrlConfigCommand(wanted), opts)).FunctionUrl;
    else {
      endpoint = current.FunctionUrl;
      const same =
        current.AuthType === url.authType &&
        (current.InvokeMode ?? undefined) === url.invokeMode &&
        canonicalize(current.Cors ?? null) === canonicalize(url.cors ?? null);
      if (!same) await client.send(new UpdateFunctionUrlConfigCommand(wanted), opts);
    }
  }
  return endpoint;
}

/**
 * Tags as captured (added or overwritten), and the reserved concurrency; while the function
 * is quiesced, the concurrency goes into quiesce's note, for resume to apply.
 */
async function ensureTagsAndConcurrency(
  client: LambdaClient,
  fn: LambdaFunction,
  triggers: unknown[],
  functionArn: string,
  opts: Signal,
) {
  const current = (await client.send(new ListTagsCommand({ Resource: functionArn }), opts)).Tags ?? {};
  const wanted: Record<string, string> = { ...(triggersOf(triggers, 'tags')[0]?.tags ?? {}) };
  const [concurrency] = triggersOf(triggers, 'concurrency');
  const quiesced = current[QUIESCED_TAG] !== undefined;
  if (quiesced && concurrency) wanted[QUIESCED_TAG] = concurrencyTag(concurrency.reserved);
  if (Object.entries(wanted).some(([key, value]) => current[key] !== value))
    await client.send(new TagResourceCommand({ Resource: functionArn, Tags: wanted }), opts);
  if (!concurrency || quiesced) return;
  await setConcurrency(client, fn, concurrency.reserved, opts);
}

/** Sets the reserved concurrency (null: none), calling Lambda only when it differs. */
export async function setConcurrency(
  client: LambdaClient,
  fn: LambdaFunction,
  reserved: number | null,
  opts: Signal,
) {
  const got = await client.send(new GetFunctionConcurrencyCommand({ FunctionName: fn.name }), opts);
  const now = got.ReservedConcurrentExecutions ?? null;
  if (now === reserved) return;
  if (reserved === null)
    await client.send(new DeleteFunctionConcurrencyCommand({ FunctionName: fn.name }), opts);
  else
    await client.send(
      new PutFunctionConcurrencyCommand({ FunctionName: fn.name, ReservedConcurrentExecutions: reserved }),
      opts,
    );
}

function sortedBy<T>(items: T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => key(a).localeCompare(key(b)));
}
