/**
 * The data resources a Lambda version names: environment variables and tags whose value
 * is an S3 bucket (`arn:aws:s3:::bucket[/prefix]` or `s3://bucket[/prefix]`), DynamoDB
 * tables and SQS queues by ARN, and the sources of its event source mappings. Only values
 * that are unmistakably a resource count: a bare name (BUCKET=media) could be anything.
 */
import type { BindingKind, BindingRef, VersionContent } from '../../contracts/functions';
import type { StoreOf } from '../../datastores/registry';
import type { Datastore } from '../../model/manifest';
import { triggersOf } from './content';
import type { LambdaFunction } from './spec';

const S3_REF = /^(?:arn:aws[a-z-]*:s3:::|s3:\/\/)([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*?))?\/?$/;

function kindOf(value: string): BindingKind | undefined {
  if (S3_REF.test(value)) return 's3';
  if (/^arn:aws[a-z-]*:dynamodb:/.test(value)) return 'dynamodb';
  if (/^arn:aws[a-z-]*:sqs:/.test(value)) return 'queue';
  if (/^arn:aws[a-z-]*:kinesis:|^arn:aws[a-z-]*:kafka:/.test(value)) return 'queue';
  return undefined;
}

/** Bindings named by `env.NAME`, `tag:KEY` and `mapping:<source ARN>`. */
export function bindingsOf(
  environment: Record<string, string>,
  tags: Record<string, string>,
  triggers: unknown[],
) {
  const bindings: BindingRef[] = [];
  const add = (name: string, value: string) => {
    const kind = kindOf(value);
    if (kind) bindings.push({ name, kind, resource: value });
  };
  for (const [name, value] of Object.entries(environment)) add(name, value);
  for (const [key, value] of Object.entries(tags)) add(`tag:${key}`, value);
  for (const m of triggersOf(triggers, 'event-source-mapping'))
    add(`mapping:${m.eventSourceArn}`, m.eventSourceArn);
  return bindings.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The bindings Lazarus can back up, as datastores: S3 buckets (the s3 kind), reached with
 * the function's own credentials. DynamoDB tables, SQS/Kinesis sources, EFS mounts
 * (Configuration.FileSystemConfigs) and RDS databases named in variables could map once
 * Lazarus has kinds for them (AWS Backup or PITR providers); they are recorded as
 * bindings and left out here.
 */
export function boundResources(fn: LambdaFunction, content: VersionContent): Record<string, Datastore> {
  const stores: Record<string, Datastore> = {};
  for (const binding of content.bindings) {
    const match = binding.kind === 's3' ? S3_REF.exec(binding.resource) : null;
    if (!match) continue;
    const store: StoreOf<'s3'> = {
      kind: 's3',
      region: fn.region,
      bucket: match[1],
      prefix: match[2] ?? '',
      ...(fn.access_key_id ? { access_key_id: fn.access_key_id } : {}),
      ...(fn.secret_access_key ? { secret_access_key: fn.secret_access_key } : {}),
    };
    stores[binding.name] = store;
  }
  return stores;
}
