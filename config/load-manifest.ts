import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type FunctionSpec, platformSpecFor } from '../functions/registry';
import YAML, { type Document, LineCounter, isPair, isScalar, isSeq } from 'yaml';
import { z } from 'zod';
import { FieldProblem, ManifestError, UserError } from '../model/errors';
import { findCycle } from '../model/graph';
import type { RepositorySpec } from '../contracts/repository-spec';
import { datastoreSpecs, isPathStore, specFor } from '../datastores/registry';
import { isLocalLocation, nested, within } from '../model/paths';
import { type ValidatorType, validatorType } from '../model/validators';
import { pitrPolicyOf } from '../model/pitr-policy';
import { Manifest, builtInTiers, defaultTierTargets, isBuiltInTier, manifestSchema } from '../model/manifest';

/** Reads, parses and validates a manifest file; throws ManifestError naming every bad field. */
export function loadManifest(file: string): Manifest {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`${file}: cannot read the manifest (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  return parseManifest(text, file);
}

export function parseManifest(text: string, file: string): Manifest {
  const data = parseYaml(text, file);
  // Without reportInput zod leaves out the value it got, and a wrong type reads like a missing field.
  const parsed = manifestSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) throw new ManifestError(file, parsed.error.issues.flatMap(describeUnion));
  const manifest = parsed.data;
  checkGraph(file, manifest.services);
  const problems = [
    ...groupProblems(manifest),
    ...validatorProblems(manifest),
    ...tierProblems(manifest),
    ...cacheProblems(manifest),
    ...functionProblems(manifest),
    ...pitrProblems(manifest),
  ];
  if (problems.length > 0) throw new ManifestError(file, problems);
  const resolved = resolvePaths(manifest, manifestDir(file));
  const unsafe = storePathProblems(resolved);
  if (unsafe.length > 0) throw new ManifestError(file, unsafe);
  return resolved;
}

/** The directory a manifest's relative paths are relative to: its own. */
export function manifestDir(file: string): string {
  return path.dirname(path.resolve(file));
}

type ParsedManifest = z.output<typeof manifestSchema>;

/** The YAML as plain data; an alias bomb is stopped by yaml's maxAliasCount. */
function parseYaml(text: string, file: string): Record<string, unknown> {
  const lines = new LineCounter();
  // yaml's own duplicate-key check compares each key with every earlier key of its map:
  // quadratic, a minute for 50,000 services. duplicateKeys does it in one pass.
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: false, lineCounter: lines });
  const problems = doc.errors.map((e) => ({ path: '', message: `YAML syntax: ${e.message.split('\n')[0]}` }));
  if (problems.length === 0) problems.push(...duplicateKeys(doc, lines));
  if (problems.length > 0) throw new ManifestError(file, problems);
  try {
    return requireMapping(doc.toJS(), file);
  } catch (err) {
    if (err instanceof ManifestError) throw err;
    // The "billion laughs": toJS throws a ReferenceError once the aliases expand too far.
    const message = `YAML aliases: ${(err as Error).message}; expand the aliases a manifest repeats so often`;
    throw new ManifestError(file, [{ path: '', message }]);
  }
}

/** Keys given twice in one mapping (the later would silently win), located by field and line. */
function duplicateKeys(doc: Document, lines: LineCounter): FieldProblem[] {
  const problems: FieldProblem[] = [];
  YAML.visit(doc, {
    Map(_, map, ancestors) {
      const seen = new Map<unknown, number>();
      for (const { key } of map.items) {
        const value = isScalar(key) ? key.value : key;
        const at = lineOf(key, lines);
        const first = seen.get(value);
        if (first === undefined) seen.set(value, at);
        else
          problems.push({
            path: fieldPathOf([...ancestors, map]),
            message: `"${String(value)}" is given twice (lines ${first} and ${at}); keep one`,
          });
      }
    },
  });
  return problems;
}

function lineOf(node: unknown, lines: LineCounter): number {
  const offset = (node as { range?: [number] } | null)?.range?.[0];
  return offset === undefined ? 0 : lines.linePos(offset).line;
}

/** The dotted field path of a node from its ancestors, as zod's issues name fields. */
function fieldPathOf(ancestors: readonly unknown[]): string {
  const parts: string[] = [];
  ancestors.forEach((node, i) => {
    if (isPair(node)) parts.push(String(isScalar(node.key) ? node.key.value : node.key));
    else if (isSeq(node)) parts.push(String(node.items.indexOf(ancestors[i + 1] as never)));
  });
  return parts.join('.');
}

/** An empty file, a list or a scalar: said as such, with what a manifest is. */
function requireMapping(data: unknown, file: string): Record<string, unknown> {
  if (typeof data === 'object' && data !== null && !Array.isArray(data))
    return data as Record<string, unknown>;
  const what =
    data === null || data === undefined ? 'the file is empty' : `the file holds ${describeValue(data)}`;
  throw new ManifestError(file, [
    {
      path: '',
      message: `${what}; a manifest is a mapping with app and services (app: shop, services: {...})`,
    },
  ]);
}

/** Every member of a group is a stateful service, and in one group only. */
function groupProblems(manifest: ParsedManifest): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const groupOf = new Map<string, string>();
  for (const [group, { members }] of Object.entries(manifest.consistency_groups)) {
    members.forEach((member, i) => {
      const at = `consistency_groups.${group}.members.${i}`;
      const service = manifest.services[member];
      if (!service) {
        problems.push({ path: at, message: `unknown service "${member}"` });
      } else if (!service.datastore) {
        problems.push({
          path: at,
          message: `"${member}" has no datastore; only stateful services join a group`,
        });
      } else if (groupOf.has(member)) {
        problems.push({ path: at, message: `"${member}" is already in group "${groupOf.get(member)}"` });
      }
      groupOf.set(member, groupOf.get(member) ?? group);
    });
  }
  return problems;
}

/**
 * A cache holds no state of its own, so it is never also a datastore, and it fronts
 * stateful services: what it depends_on is what it is flushed after.
 */
function cacheProblems(manifest: ParsedManifest): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const [name, service] of Object.entries(manifest.services)) {
    if (!service.cache) continue;
    const at = `services.${name}`;
    if (service.datastore)
      problems.push({
        path: `${at}.cache`,
        message: 'a service is a datastore or a cache, not both: a cache holds nothing to back up',
      });
    const fronted = service.depends_on.filter(
      (d) => manifest.services[d]?.datastore || manifest.services[d]?.unprotected,
    );
    if (fronted.length === 0)
      problems.push({
        path: `${at}.depends_on`,
        message:
          'a cache is flushed after the stores it fronts are restored: list them under depends_on (services with a datastore, or unprotected ones)',
      });
  }
  return problems;
}

/** A function's state is its platform's and its bound services': it is never also a datastore or a cache. */
function functionProblems(manifest: ParsedManifest): FieldProblem[] {
  return Object.entries(manifest.services)
    .filter(([, service]) => service.function && (service.datastore || service.cache))
    .map(([name]) => ({
      path: `services.${name}.function`,
      message:
        'a service is a function, a datastore or a cache, not two of them: give the function its own service and list the store under its depends_on',
    }));
}

/** `pitr` on a service asks for continuous capture: only kinds that have a log to stream take it. */
function pitrProblems(manifest: ParsedManifest): FieldProblem[] {
  const capturing = datastoreSpecs.filter((spec) => spec.capture).map((spec) => spec.kind);
  const problems: FieldProblem[] = [];
  for (const [name, service] of Object.entries(manifest.services)) {
    if (!service.pitr) continue;
    const kind = service.datastore?.kind;
    if (kind && capturing.includes(kind)) continue;
    problems.push({
      path: `services.${name}.pitr`,
      message: `${kind ? `a ${kind} store has no log to capture` : 'a service without a datastore has nothing to capture'}: continuous capture covers ${capturing.join(', ')}; remove pitr, or rely on scheduled backups`,
    });
  }
  for (const [name, group] of Object.entries(manifest.consistency_groups)) {
    if (group.checkpoint_every === undefined) continue;
    const without = group.members.filter((m) => {
      const service = manifest.services[m];
      return service && !pitrPolicyOf(service, manifest.tiers);
    });
    if (without.length > 0)
      problems.push({
        path: `consistency_groups.${name}.checkpoint_every`,
        message: `checkpoints need continuous capture on every member; ${without.join(', ')} has no pitr (set it on the service or its tier)`,
      });
  }
  return problems;
}

/** A service's tier exists; a tier of one's own sets what the built-in ones have defaults for. */
function tierProblems(manifest: ParsedManifest): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const known = [...new Set([...builtInTiers, ...Object.keys(manifest.tiers)])];
  for (const [name, service] of Object.entries(manifest.services)) {
    if (!known.includes(service.tier))
      problems.push({
        path: `services.${name}.tier`,
        message: `unknown tier "${service.tier}": use one of ${known.join(', ')}, or declare it under tiers`,
      });
  }
  for (const [tier, target] of Object.entries(manifest.tiers)) {
    if (isBuiltInTier(tier)) continue;
    const needed = ['rto', 'rpo', 'retention'] as const;
    for (const field of needed.filter((f) => target[f] === undefined))
      problems.push({
        path: `tiers.${tier}.${field}`,
        message: `required: a tier of your own has no default ${field} (only ${builtInTiers.join(', ')} do)`,
      });
    if (target.adaptive && target.adaptive.at_risk === undefined)
      problems.push({
        path: `tiers.${tier}.adaptive.at_risk`,
        message: 'required: a tier of your own has no default at_risk; write a size such as 64MiB',
      });
  }
  return problems;
}

/** Why a validator type does not fit a kind, as the message says it. */
const validatorNeeds: Partial<Record<ValidatorType, string>> = {
  sql: 'sql and row_count need an SQL datastore',
  row_count: 'sql and row_count need an SQL datastore',
  key_count: `key_count needs a ${kindsAccepting('key_count').join(' or ')} datastore`,
  document_count: `document_count needs a ${kindsAccepting('document_count').join(' or ')} datastore`,
  mongo_query: `mongo_query needs a ${kindsAccepting('mongo_query').join(' or ')} datastore`,
  message_count: `message_count needs a ${kindsAccepting('message_count').join(' or ')} datastore`,
  object_count: `object_count needs an ${kindsAccepting('object_count').join(' or ')} datastore`,
};

function kindsAccepting(type: ValidatorType): string[] {
  return datastoreSpecs.filter((spec) => spec.validators.includes(type)).map((spec) => spec.kind);
}

/** A validator must make sense for the store it checks (its kind's spec lists what it accepts). */
function validatorProblems(manifest: ParsedManifest): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const [name, service] of Object.entries(manifest.services)) {
    const kind = service.datastore?.kind;
    (service.validate ?? []).forEach((validator, i) => {
      const at = `services.${name}.validate.${i}`;
      const type = validatorType(validator);
      if (!kind && type !== 'command' && type !== 'http') {
        problems.push({ path: at, message: 'a stateless service can only have command or http validators' });
      } else if (kind && !specFor(kind).validators.includes(type)) {
        const needs = validatorNeeds[type] ?? `${type} needs another datastore`;
        problems.push({ path: at, message: `${needs}, not ${kind}` });
      }
    });
  }
  return problems;
}

/**
 * File stores a restore must never replace: the filesystem root (every file on the
 * machine), and the repository (a store holding it would back the repository up into
 * itself, and its restore would replace the backups it reads from).
 */
function storePathProblems(manifest: Manifest): FieldProblem[] {
  const repo = isLocalLocation(manifest.repository.location) ? manifest.repository.location : undefined;
  const problems: FieldProblem[] = [];
  for (const [name, { datastore: store }] of Object.entries(manifest.services)) {
    if (!store || !isPathStore(store)) continue;
    const at = `services.${name}.datastore.path`;
    if (store.path === path.parse(store.path).root)
      problems.push({
        path: at,
        message: `${store.path} is the filesystem root: a restore would replace every file; name the directory that holds ${name}'s data`,
      });
    else if (repo && nested(store.path, repo))
      problems.push({
        path: at,
        message: `${store.path} ${within(repo, store.path) ? 'holds' : 'is inside'} the repository ${repo}: a backup would copy the repository into itself and a restore would replace it; move one of them (repository.path)`,
      });
  }
  return problems;
}

function checkGraph(file: string, services: Manifest['services']): void {
  const problems: FieldProblem[] = [];
  for (const [name, service] of Object.entries(services)) {
    service.depends_on.forEach((dep, i) => {
      if (!(dep in services)) {
        problems.push({
          path: `services.${name}.depends_on.${i}`,
          message: `unknown service "${dep}"; known services: ${Object.keys(services).join(', ')}`,
        });
      } else if (dep === name) {
        problems.push({
          path: `services.${name}.depends_on.${i}`,
          message: 'a service cannot depend on itself',
        });
      }
    });
  }
  if (problems.length === 0) {
    const cycle = findCycle(services);
    if (cycle) {
      problems.push({
        path: `services.${cycle[0]}.depends_on`,
        message: `dependency cycle: ${cycle.join(' -> ')}; remove one of these edges`,
      });
    }
  }
  if (problems.length > 0) throw new ManifestError(file, problems);
}

function resolvePaths(manifest: ParsedManifest, baseDir: string): Manifest {
  const services = Object.fromEntries(
    Object.entries(manifest.services).map(([name, service]) => {
      const store = service.datastore;
      if (store && isPathStore(store)) {
        return [name, { ...service, datastore: { ...store, path: path.resolve(baseDir, store.path) } }];
      }
      if (service.function)
        return [name, { ...service, function: resolveFunction(service.function, name, baseDir) }];
      return [name, service];
    }),
  );
  return {
    app: manifest.app,
    repository: repositorySpec(manifest.repository, baseDir),
    cost: {
      perGbMonth: manifest.cost?.per_gb_month ?? 0.023,
      perGbTransfer: manifest.cost?.per_gb_transfer ?? 0.09,
    },
    services,
    hooks: manifest.hooks ?? {},
    consistencyGroups: manifest.consistency_groups,
    tiers: tierTargets(manifest.tiers),
    sandbox: path.resolve(baseDir, manifest.drill?.sandbox ?? '.lazarus/sandbox'),
  };
}

/** A function's path fields made absolute, and its defaults (a state directory named after the service) filled. */
function resolveFunction(fn: FunctionSpec, service: string, baseDir: string): FunctionSpec {
  const spec = platformSpecFor(fn.platform);
  const resolved: Record<string, unknown> = { ...fn };
  for (const field of spec.pathFields) {
    const value = resolved[field];
    if (typeof value === 'string') resolved[field] = path.resolve(baseDir, value);
  }
  return spec.withDefaults?.(resolved as FunctionSpec, { service, baseDir }) ?? (resolved as FunctionSpec);
}

/** The built-in tiers with their defaults under what the manifest sets, then its own tiers (checked complete). */
function tierTargets(tiers: ParsedManifest['tiers']): Manifest['tiers'] {
  const targets: Manifest['tiers'] = {};
  for (const tier of builtInTiers) targets[tier] = { ...defaultTierTargets[tier], ...tiers[tier] };
  for (const [tier, target] of Object.entries(tiers))
    if (!isBuiltInTier(tier)) targets[tier] = target as Manifest['tiers'][string];
  return targets;
}

/**
 * A value that matches none of a union's shapes: when its fields pick out one shape (no
 * unknown or missing field there), report what is wrong inside that shape, not the union.
 */
function describeUnion(issue: z.core.$ZodIssue): FieldProblem[] {
  if (issue.code !== 'invalid_union' || ('discriminator' in issue && issue.discriminator)) {
    return [describeIssue(issue)];
  }
  const shapeMismatch = (e: z.core.$ZodIssue) =>
    e.code === 'unrecognized_keys' ||
    (e.code === 'invalid_type' && e.input === undefined && e.path.length === 1);
  const fitting = issue.errors.filter((branch) => !branch.some(shapeMismatch));
  if (fitting.length !== 1) return [describeIssue(issue)];
  return fitting[0].flatMap((inner) => describeUnion({ ...inner, path: [...issue.path, ...inner.path] }));
}

/** Turns a zod issue into a field path and a message that says what is allowed. */
export function describeIssue(issue: z.core.$ZodIssue): FieldProblem {
  const fieldPath = issue.path.map(String).join('.');
  switch (issue.code) {
    case 'invalid_union':
      if ('discriminator' in issue && issue.discriminator) {
        const allowed = (issue as { options?: unknown[] }).options?.map(String).join(', ');
        return { path: fieldPath, message: `unknown value; allowed: ${allowed}` };
      }
      return { path: fieldPath, message: issue.message };
    case 'invalid_value':
      return { path: fieldPath, message: `must be one of: ${issue.values.map(String).join(', ')}` };
    case 'unrecognized_keys':
      return {
        path: fieldPath,
        message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`,
      };
    case 'invalid_type':
      return {
        path: fieldPath,
        message:
          issue.input === undefined
            ? `required (${issue.expected})`
            : `expected ${expectedType(issue.expected)}, got ${describeValue(issue.input)}`,
      };
    default:
      return { path: fieldPath, message: issue.message };
  }
}

/** zod's type names as a manifest's author knows them: YAML has lists and mappings. */
function expectedType(expected: string): string {
  const names: Record<string, string> = {
    number: 'a number',
    int: 'a whole number',
    string: 'a string',
    boolean: 'true or false',
    array: 'a list',
    object: 'a mapping',
    record: 'a mapping',
  };
  return names[expected] ?? expected;
}

/** A value as a message quotes it: `the string "abc"`, `a list`, `an empty value`. */
function describeValue(value: unknown): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'object') return 'a mapping';
  return `the ${typeof value} ${String(value)}`;
}

function repositorySpec(repository: ParsedManifest['repository'], baseDir: string): RepositorySpec {
  const chunking = repository?.chunking;
  return {
    location: repository?.s3 ?? path.resolve(baseDir, repository?.path ?? '.lazarus/repo'),
    ...(repository?.endpoint ? { endpoint: repository.endpoint } : {}),
    ...(repository?.region ? { region: repository.region } : {}),
    ...(repository?.password_file ? { passwordFile: path.resolve(baseDir, repository.password_file) } : {}),
    ...(chunking
      ? { chunking: { minSize: chunking.min, avgSize: chunking.avg, maxSize: chunking.max } }
      : {}),
  };
}
