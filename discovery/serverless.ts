/**
 * The functions of a Serverless Framework file (serverless.yml, provider aws): each entry
 * under `functions:` is the Lambda the framework deploys as `<service>-<stage>-<key>`
 * (or its `name:`); what it uses comes from its environment (the provider's and its own),
 * its events (s3, sqs, dynamodb streams), the provider's IAM statements, and the buckets,
 * tables and queues under `resources.Resources`. Variables `${self:...}`, `${opt:stage}`,
 * `${sls:stage}`, `${env:...}`, `${aws:region}` and fallbacks (`${opt:stage, 'dev'}`) are
 * resolved; others (`${ssm:...}`, `${file(...)}`, `${cf:...}`) are left, and a name that
 * holds one is written as a placeholder with a note.
 */
import { UserError } from '../model/errors';
import {
  type CloudResource,
  type Dict,
  FUNCTION_NAME_PLACEHOLDER,
  type FoundLambda,
  Resources,
  asArray,
  cloudFormationText,
  isDict,
  lambdaDiscovery,
  lambdaName,
  readCloudFormationYaml,
} from './cloudformation';
import type { Discovery } from './discovered';

export interface ServerlessOptions {
  /** As `--stage` to the framework; default: provider.stage, else dev. */
  stage?: string;
  /** For `${env:...}`; default: this process's environment. */
  env?: Record<string, string | undefined>;
}

export function discoverServerless(file: string, options: ServerlessOptions = {}): Discovery {
  const raw = readCloudFormationYaml(file, 'a Serverless Framework file');
  const doc = resolveVariables(raw, options) as Dict;
  const service = serviceName(file, doc);
  // `provider: aws` is the oldest form of `provider: {name: aws}`.
  const provider = isDict(doc.provider) ? doc.provider : doc.provider === 'aws' ? { name: 'aws' } : {};
  if (provider.name !== 'aws')
    throw new UserError(
      `${file}: provider.name: ${provider.name === undefined ? 'missing' : JSON.stringify(provider.name)}; Lazarus reads Serverless files for provider aws only`,
    );
  if (!isDict(doc.functions) || Object.keys(doc.functions).length === 0)
    throw new UserError(`${file}: functions: missing, empty or not a map of function names to definitions`);
  const stage = plain(provider.stage) ?? 'dev';
  const region = plain(provider.region) ?? 'us-east-1';
  const notes: string[] = [];
  const known = { 'AWS::StackName': `${service}-${stage}`, 'AWS::Region': region };
  const resources = new Resources(cloudFormationResources(doc.resources), (v) =>
    cloudFormationText(v, known),
  );
  const granted = iamStatements(provider).flatMap((s) => resources.referencedBy(s.Resource));
  const lambdas = Object.entries(doc.functions).map(([key, fn]): FoundLambda => {
    const at = `functions.${key}`;
    if (!isDict(fn))
      throw new UserError(`${file}: ${at}: a function is a mapping with a handler (or an image)`);
    return {
      key,
      name: functionName(file, at, fn, `${service}-${stage}-${key}`, notes),
      region,
      uses: [
        ...Object.entries({ ...dictOf(provider.environment), ...dictOf(fn.environment) }).flatMap(([k, v]) =>
          resources.fromVariable(k, v),
        ),
        ...asArray(fn.events).flatMap((event) => eventResources(event, key, resources, notes, file)),
        ...granted,
      ],
    };
  });
  notes.push(
    `${file}: Serverless functions are called by their name, not an alias: alias "live" is assumed; publish one or set each function's alias`,
  );
  return lambdaDiscovery(file, 'serverless', service, lambdas, resources, notes);
}

const dictOf = (value: unknown): Dict => (isDict(value) ? value : {});
/** A resolved string, or undefined when absent or holding a variable that was not resolved. */
const plain = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' && !value.includes('${') ? value : undefined;

function serviceName(file: string, doc: Dict): string {
  const given: unknown = isDict(doc.service) ? doc.service.name : doc.service;
  const name = plain(given);
  if (name === undefined)
    throw new UserError(
      `${file}: service: ${given === undefined ? 'missing' : `${JSON.stringify(given)} is not a name Lazarus can work out`}; the framework names every function after it`,
    );
  return name;
}

function functionName(file: string, at: string, fn: Dict, framework: string, notes: string[]): string {
  if ('name' in fn && (typeof fn.name !== 'string' || fn.name === ''))
    throw new UserError(`${file}: ${at}.name: a function's name is a string; remove it to use ${framework}`);
  const name = typeof fn.name === 'string' ? fn.name : framework;
  if (name.includes('${')) {
    notes.push(
      `${file}: ${at}: the name ${name} holds a variable Lazarus does not resolve; fill in the function's name`,
    );
    return FUNCTION_NAME_PLACEHOLDER;
  }
  if (!lambdaName.test(name))
    throw new UserError(
      `${file}: ${at}${'name' in fn ? '.name' : ''}: "${name}" is not a Lambda function name (letters, digits, "-" and "_", at most 64)${'name' in fn ? '' : '; set name: to a shorter one'}`,
    );
  return name;
}

/** `resources: {Resources: {...}}`, or a list of such blocks (as `${file(...)}` includes often make it). */
function cloudFormationResources(resources: unknown): Dict {
  return Object.assign({}, ...asArray(resources).map((block) => dictOf(dictOf(block).Resources))) as Dict;
}

/** provider.iam.role.statements (v3) or provider.iamRoleStatements (v1, v2): granted to every function. */
function iamStatements(provider: Dict): Dict[] {
  const role = dictOf(dictOf(provider.iam).role);
  return [...asArray(role.statements), ...asArray(provider.iamRoleStatements)].filter(isDict);
}

/** `- s3: bucket` or `{bucket, existing}`; `- sqs: arn` or `{arn}`; `- stream: arn` or `{type: dynamodb, arn}`. */
function eventResources(
  event: unknown,
  key: string,
  resources: Resources,
  notes: string[],
  file: string,
): CloudResource[] {
  const e = dictOf(event);
  if (e.s3 !== undefined) {
    const bucket: unknown = isDict(e.s3) ? e.s3.bucket : e.s3;
    if (typeof bucket !== 'string') return resources.referencedBy(bucket);
    if (!bucket.includes('${')) return [resources.named('s3', bucket)];
    notes.push(`${file}: functions.${key}.events: the s3 bucket ${bucket} holds a variable not resolved`);
    return [resources.unnamed('s3', `${key}-events-bucket`)];
  }
  if (e.sqs !== undefined) return resources.referencedBy(isDict(e.sqs) ? e.sqs.arn : e.sqs);
  if (e.stream !== undefined) {
    const stream = isDict(e.stream) ? e.stream : { arn: e.stream };
    // Kinesis streams are not state Lazarus knows; a DynamoDB stream's table is.
    return stream.type === undefined || stream.type === 'dynamodb'
      ? resources.referencedBy(stream.arn).filter((r) => r.engine === 'dynamodb')
      : [];
  }
  return [];
}

/**
 * The document with its variables resolved, each string on its own: innermost `${...}`
 * first, alternatives left to right. A string whose only content is one variable takes
 * that variable's value whatever its type (`environment: ${self:custom.env}`).
 */
export function resolveVariables(doc: Dict, options: ServerlessOptions): unknown {
  const env = options.env ?? process.env;
  const resolving = new Set<string>();
  const once = (key: string, compute: () => unknown) => {
    if (resolving.has(key)) return undefined; // a variable that needs itself
    resolving.add(key);
    try {
      return compute();
    } finally {
      resolving.delete(key);
    }
  };
  const stage = () => options.stage ?? plain(once('stage', () => deep(dictOf(doc.provider).stage))) ?? 'dev';
  const region = () => plain(once('region', () => deep(dictOf(doc.provider).region))) ?? 'us-east-1';

  const source = (expression: string): unknown => {
    const quoted = /^(['"])(.*)\1$/.exec(expression);
    if (quoted) return quoted[2];
    if (/^-?\d+(\.\d+)?$/.test(expression)) return expression;
    const [, kind, rest] = /^([a-zA-Z]+):(.*)$/.exec(expression) ?? [];
    if (kind === 'self') return once(`self:${rest}`, () => deep(lookup(doc, rest)));
    if (kind === 'opt') return rest === 'stage' ? options.stage : undefined;
    if (kind === 'sls') return rest === 'stage' ? stage() : undefined;
    if (kind === 'env') return env[rest];
    if (kind === 'aws') return rest === 'region' ? region() : undefined;
    return undefined; // ssm, file(), cf, s3, param: outside the file
  };
  const variable = (expression: string): unknown => {
    for (const alternative of splitAlternatives(expression)) {
      const value = source(alternative);
      if (value !== undefined && value !== null && !(typeof value === 'string' && value.includes('${')))
        return value;
    }
    return undefined;
  };
  const text = (value: string): unknown => {
    const unresolved: string[] = [];
    let current = value;
    for (let match = innermost.exec(current); match; match = innermost.exec(current)) {
      const resolved = variable(match[1].trim());
      if (match[0] === current && resolved !== undefined) return resolved;
      const kept =
        typeof resolved === 'string' || typeof resolved === 'number' || typeof resolved === 'boolean';
      // An unresolved variable is kept as written, behind a mark the next search skips.
      const replacement = kept ? String(resolved) : `\uE000${unresolved.push(match[0]) - 1}\uE001`;
      current = current.slice(0, match.index) + replacement + current.slice(match.index + match[0].length);
    }
    return current.replace(/\uE000(\d+)\uE001/g, (_, i: string) => unresolved[Number(i)]);
  };
  const deep = (value: unknown): unknown => {
    if (typeof value === 'string') return value.includes('${') ? text(value) : value;
    if (Array.isArray(value)) return value.map(deep);
    if (isDict(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deep(v)]));
    return value;
  };
  return deep(doc);
}

/** Innermost: no `${` or `}` inside. */
const innermost = /\$\{([^${}]*)\}/;

/** `opt:stage, self:provider.stage, 'dev'` -> its alternatives; a comma inside quotes stays. */
function splitAlternatives(expression: string): string[] {
  return [...expression.matchAll(/\s*('[^']*'|"[^"]*"|[^,]+)\s*(?:,|$)/g)]
    .map((m) => m[1].trim())
    .filter(Boolean);
}

/** `custom.tables.orders` in the document; an empty path is the whole document. */
function lookup(doc: Dict, dotted: string): unknown {
  if (dotted === '') return doc;
  let value: unknown = doc;
  for (const part of dotted.split('.')) {
    if (!isDict(value)) return undefined;
    value = value[part];
  }
  return value;
}
