/**
 * What a Serverless Framework file and a SAM template share: YAML with CloudFormation's
 * short tags (!Ref, !GetAtt, !Sub...), a `Resources` map whose S3 buckets, DynamoDB tables
 * and SQS queues are the state a function uses, the references (Ref, GetAtt, Sub, ARNs,
 * plain names) by which a function names them, and the services both formats become:
 * an aws-lambda function depending on the resources it uses.
 */
import { readFileSync } from 'node:fs';
import { type Tags, parseDocument } from 'yaml';
import { BUCKET_PLACEHOLDER } from '../datastores/s3/spec';
import { UserError } from '../model/errors';
import type { DiscoveredService, Discovery } from './discovered';
import type { Engine } from './recognize';

export type Dict = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const isDict = (value: unknown): value is Dict =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A Lambda function name is this, or the deploy fails; a placeholder fails it on purpose. */
export const lambdaName = /^[A-Za-z0-9_-]{1,64}$/;
export const FUNCTION_NAME_PLACEHOLDER = 'FILL-IN the function name';

/** Each short tag as the long form it stands for: `!GetAtt T.Arn` is `{"Fn::GetAtt": ["T", "Arn"]}`. */
const intrinsics = [
  'Base64',
  'Cidr',
  'FindInMap',
  'GetAZs',
  'ImportValue',
  'Join',
  'Select',
  'Split',
  'Sub',
  'Transform',
  'If',
  'Equals',
  'Not',
  'And',
  'Or',
] as const;
const longForm = (name: string, value: unknown) =>
  name === 'Ref' || name === 'Condition' ? { [name]: value } : { [`Fn::${name}`]: value };
const cloudFormationTags: Tags = [
  ...['Ref', 'Condition', 'GetAtt', ...intrinsics].flatMap((name) =>
    (['scalar', 'seq', 'map'] as const).map((collection) => ({
      tag: `!${name}`,
      ...(collection === 'scalar' ? {} : { collection }),
      resolve: (value: unknown) => {
        const plain = collection === 'scalar' ? value : (value as { toJSON(): unknown }).toJSON();
        // The short form of GetAtt is one string, "Resource.Attribute".
        if (name === 'GetAtt' && typeof plain === 'string') {
          const dot = plain.indexOf('.');
          return longForm(name, dot < 0 ? [plain] : [plain.slice(0, dot), plain.slice(dot + 1)]);
        }
        return longForm(name, plain);
      },
    })),
  ),
];

/** A YAML file (CloudFormation tags understood) as a mapping; unreadable or malformed: a UserError naming it. */
export function readCloudFormationYaml(file: string, what: string): Dict {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`${file}: cannot read ${what} (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  const doc = parseDocument(text, { customTags: cloudFormationTags, prettyErrors: true });
  if (doc.errors.length > 0)
    throw new UserError(`${file}: not valid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  const data: unknown = doc.toJS();
  if (!isDict(data)) throw new UserError(`${file}: ${what} is a YAML mapping; this file is not one`);
  return data;
}

/**
 * A name field as text: a string, a `Ref` or `${X}` in a Sub to something `known` holds
 * (parameter defaults, AWS::StackName when it is known), a Join of such; else undefined.
 */
export function cloudFormationText(value: unknown, known: Record<string, string> = {}): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (!isDict(value)) return undefined;
  if ('Ref' in value) return known[String(value.Ref)];
  if ('Fn::Join' in value && Array.isArray(value['Fn::Join'])) {
    const [separator, parts] = value['Fn::Join'] as [unknown, unknown];
    const texts = asArray(parts).map((p) => cloudFormationText(p, known));
    return texts.every((t) => t !== undefined) ? texts.join(String(separator)) : undefined;
  }
  if ('Fn::Sub' in value) {
    const [template, variables] = Array.isArray(value['Fn::Sub']) ? value['Fn::Sub'] : [value['Fn::Sub'], {}];
    const local = isDict(variables) ? variables : {};
    let unresolved = false;
    const text = String(template).replace(/\$\{(!?)([^}]*)\}/g, (_, literal: string, name: string) => {
      if (literal) return `\${${name}}`; // ${!Literal} is written as ${Literal}
      const resolved = name in local ? cloudFormationText(local[name], known) : known[name];
      if (resolved === undefined) unresolved = true;
      return resolved ?? '';
    });
    return unresolved ? undefined : text;
  }
  return undefined;
}

/** Parameters' defaults, as a Ref to each gives them. */
export function parameterDefaults(parameters: unknown): Record<string, string> {
  if (!isDict(parameters)) return {};
  return Object.fromEntries(
    Object.entries(parameters).flatMap(([name, p]) =>
      isDict(p) && (typeof p.Default === 'string' || typeof p.Default === 'number')
        ? [[name, String(p.Default)]]
        : [],
    ),
  );
}

export type ResourceEngine = 's3' | 'dynamodb' | 'sqs';

/** A bucket, table or queue: declared in the file (by logical id), or only named by a function. */
export interface CloudResource {
  engine: ResourceEngine;
  /** The logical id in Resources; for one only named (an ARN, an existing bucket), its name. */
  id: string;
  /** The bucket, table or queue name, when the file says it. */
  name?: string;
  declared: boolean;
}

const resourceTypes: Record<string, { engine: ResourceEngine; nameField: string }> = {
  'AWS::S3::Bucket': { engine: 's3', nameField: 'BucketName' },
  'AWS::DynamoDB::Table': { engine: 'dynamodb', nameField: 'TableName' },
  'AWS::DynamoDB::GlobalTable': { engine: 'dynamodb', nameField: 'TableName' },
  'AWS::Serverless::SimpleTable': { engine: 'dynamodb', nameField: 'TableName' },
  'AWS::SQS::Queue': { engine: 'sqs', nameField: 'QueueName' },
};

/** `arn:aws:s3:::media/*`, `arn:aws:dynamodb:eu-west-1:123:table/orders/stream/...`, `arn:aws:sqs:eu-west-1:123:jobs`. */
const arnPatterns: [ResourceEngine, RegExp][] = [
  ['s3', /^arn:aws[\w-]*:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/|$)/],
  ['dynamodb', /^arn:aws[\w-]*:dynamodb:[^:]*:[^:]*:table\/([A-Za-z0-9_.-]{3,255})(?:\/|$)/],
  ['sqs', /^arn:aws[\w-]*:sqs:[^:]*:[^:]*:([A-Za-z0-9_-]{1,80}(?:\.fifo)?)$/],
];

/**
 * The stateful resources of a file and the lookups a function's references need. `nameOf`
 * turns a name field (a string, a Ref to a parameter, a Sub) into a name, or undefined.
 */
export class Resources {
  private readonly all: CloudResource[] = [];

  constructor(
    resources: Dict,
    private readonly nameOf: (value: unknown) => string | undefined,
  ) {
    for (const [id, resource] of Object.entries(resources)) {
      const type = isDict(resource) ? resourceTypes[String(resource.Type)] : undefined;
      if (!type) continue;
      const named = resource.Properties?.[type.nameField];
      this.all.push({
        engine: type.engine,
        id,
        name: named === undefined ? undefined : nameOf(named),
        declared: true,
      });
    }
  }

  get list(): readonly CloudResource[] {
    return this.all;
  }

  byId(id: string): CloudResource | undefined {
    return this.all.find((r) => r.declared && r.id === id);
  }

  /** A resource by its name; one not declared in the file is added, as used from outside it. */
  named(engine: ResourceEngine, name: string): CloudResource {
    const found = this.all.find((r) => r.engine === engine && r.name === name);
    if (found) return found;
    const external = { engine, id: name, name, declared: false };
    this.all.push(external);
    return external;
  }

  /** A resource a function uses whose name the file does not say. */
  unnamed(engine: ResourceEngine, id: string): CloudResource {
    const resource = { engine, id, declared: false };
    this.all.push(resource);
    return resource;
  }

  /**
   * The resources a value refers to: `Ref X`, `GetAtt X.Arn`, `${X}` in a Sub, an ARN, or
   * the plain name of a declared resource; anything inside Join, Select and the like too.
   */
  referencedBy(value: unknown): CloudResource[] {
    const found = new Set<CloudResource>();
    const visit = (v: unknown): void => {
      if (typeof v === 'string') return this.fromString(v).forEach((r) => found.add(r));
      if (Array.isArray(v)) return v.forEach(visit);
      if (!isDict(v)) return;
      // A Sub or Join that spells out a declared name: !Sub 'receipts-${Stage}'.
      const text = this.nameOf(v);
      if (text !== undefined) this.fromString(text).forEach((r) => found.add(r));
      const byId = (id: unknown) => {
        const r = typeof id === 'string' ? this.byId(id) : undefined;
        if (r) found.add(r);
      };
      if ('Ref' in v) return byId(v.Ref);
      if ('Fn::GetAtt' in v) return byId(asArray(v['Fn::GetAtt'])[0]);
      if ('Fn::Sub' in v) {
        const [template, variables] = Array.isArray(v['Fn::Sub']) ? v['Fn::Sub'] : [v['Fn::Sub'], {}];
        for (const match of String(template).matchAll(/\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}/g))
          if (!isDict(variables) || !(match[1] in variables)) byId(match[1]);
        if (isDict(variables)) Object.values(variables).forEach(visit);
        return;
      }
      Object.values(v).forEach(visit);
    };
    visit(value);
    return [...found];
  }

  private fromString(value: string): CloudResource[] {
    for (const [engine, pattern] of arnPatterns) {
      const match = pattern.exec(value);
      if (match) return [this.named(engine, match[1])];
    }
    return this.all.filter((r) => r.name !== undefined && r.name === value);
  }

  /** A resource only named by a plain value whose variable says what it is (UPLOADS_BUCKET: media). */
  fromVariable(variable: string, value: unknown): CloudResource[] {
    const found = this.referencedBy(value);
    if (found.length > 0 || typeof value !== 'string') return found;
    if (/BUCKET/i.test(variable) && /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value))
      return [this.named('s3', value)];
    if (/TABLE/i.test(variable) && /^[A-Za-z0-9_.-]{3,255}$/.test(value))
      return [this.named('dynamodb', value)];
    if (/QUEUE/i.test(variable) && /^[A-Za-z0-9_-]{1,80}$/.test(value)) return [this.named('sqs', value)];
    return [];
  }
}

export const asArray = (value: unknown): unknown[] =>
  value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];

/** An AWS Lambda function as discovery found it. */
export interface FoundLambda {
  /** Its key in the file (the logical id, the key under `functions:`). */
  key: string;
  name: string;
  alias?: string;
  region?: string;
  uses: CloudResource[];
}

/** What a file holds: no engine reads these by image or port, so each is its own Engine. */
const resourceEngines: Record<ResourceEngine, Engine> = {
  s3: { engine: 's3', kind: 's3', tier: 'critical', images: /$^/, ports: [] },
  dynamodb: { engine: 'dynamodb', tier: 'critical', images: /$^/, ports: [] },
  sqs: { engine: 'sqs', tier: 'standard', images: /$^/, ports: [] },
};

/**
 * The services of a file: one per function (an aws-lambda `function:` depending on what it
 * uses), one per bucket (an s3 datastore), table and queue (unprotected, kept visible).
 */
export function lambdaDiscovery(
  file: string,
  format: 'serverless' | 'sam',
  app: string | undefined,
  lambdas: FoundLambda[],
  resources: Resources,
  notes: string[],
): Discovery {
  const taken = new Set(lambdas.map((l) => kebab(l.key)));
  const serviceName = new Map<CloudResource, string>();
  for (const resource of resources.list) {
    let name = resource.name && !resource.name.includes('${') ? resource.name : kebab(resource.id);
    // A bucket named like a function would make its edge ambiguous.
    if (taken.has(name.toLowerCase())) name = `${name}-${resource.engine}`;
    taken.add(name.toLowerCase());
    serviceName.set(resource, name);
  }
  const source = `${format} ${file}`;
  const regions = [...new Set(lambdas.map((l) => l.region).filter((r): r is string => !!r))];
  const services: DiscoveredService[] = [
    ...lambdas.map((lambda): DiscoveredService => ({
      name: kebab(lambda.key),
      source,
      dependsOn: [...new Set(lambda.uses.map((r) => serviceName.get(r)!))].sort(),
      references: [],
      function: {
        platform: 'aws-lambda',
        name: lambda.name,
        ...(lambda.alias ? { alias: lambda.alias } : {}),
        ...(lambda.region ? { region: lambda.region } : {}),
      },
    })),
    ...resources.list.map((resource) =>
      resourceService(resource, serviceName.get(resource)!, source, regions, notes, file),
    ),
  ];
  return { app, services, notes };
}

/** Logical ids as service names: CreateOrderFunction -> create-order-function, DynamoDBTable -> dynamo-db-table. */
function kebab(id: string): string {
  return id
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

function resourceService(
  resource: CloudResource,
  name: string,
  source: string,
  regions: string[],
  notes: string[],
  file: string,
): DiscoveredService {
  const base = { name, source, engine: resourceEngines[resource.engine], dependsOn: [], references: [] };
  if (resource.engine !== 's3') return base;
  const bucket = resource.name && !resource.name.includes('${') ? resource.name : undefined;
  if (!bucket)
    notes.push(
      `${file}: ${resource.id}: the bucket's name is not in the file (CloudFormation makes one up, or a variable was not resolved); fill in services.${name}.datastore.bucket`,
    );
  // The functions' region, when they agree: a bucket lives in one region.
  const region = regions.length === 1 ? { region: regions[0] } : {};
  return { ...base, datastore: { kind: 's3', bucket: bucket ?? BUCKET_PLACEHOLDER, ...region } };
}
