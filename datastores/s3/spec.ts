import { z } from 'zod';
import { secretRefSchema } from '../../model/secret-ref';
import { defineKind } from '../kind';

/** AWS's rules for a bucket name (the strict, DNS-compatible ones every server accepts). */
const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
  error: 'a bucket name: 3-63 lowercase letters, digits, dots and hyphens',
});

/** A "folder" of keys: no leading, trailing or doubled slash, so `prefix/` + key is unambiguous. */
const keyPrefix = z
  .string()
  .regex(/^(?:[^/]+(?:\/[^/]+)*)?$/, { error: 'a key prefix without a leading, trailing or doubled "/"' });

/** What discovery writes when it cannot see the bucket a service uses: invalid on purpose, so it must be filled in. */
export const BUCKET_PLACEHOLDER = 'FILL-IN-the-bucket-name';

/** The folder-like name restores stage under, beside the store's prefix: `media.lazarus-staging/<id>/`. */
export const STAGING_SUFFIX = '.lazarus-staging';

const s3Schema = z.strictObject({
  kind: z.literal('s3'),
  endpoint: z.url().optional().describe('The server, such as http://minio:9000; absent: AWS S3 itself'),
  region: z.string().min(1).default('us-east-1'),
  bucket: bucketName,
  prefix: keyPrefix
    .default('')
    .describe(
      'Only the objects under this prefix (a folder such as "media/2024") are the store; "" the whole bucket',
    ),
  force_path_style: z
    .boolean()
    .optional()
    .describe(
      'Address buckets as http://host/bucket (default with an endpoint) rather than http://bucket.host',
    ),
  access_key_id: secretRefSchema
    .optional()
    .describe("Without it, the AWS SDK's own sources (env, profile, role)"),
  secret_access_key: secretRefSchema.optional(),
  staging_bucket: bucketName
    .optional()
    .describe(
      'A bucket restores stage in; without it they stage beside the prefix, under "<prefix>.lazarus-staging/"',
    ),
  sandbox_bucket: bucketName
    .optional()
    .describe(
      'A bucket (never the production one) that DR drills restore into; drills refuse to run without it',
    ),
});

export type S3Store = z.output<typeof s3Schema>;

/** A bucket and the key prefix inside it ("" for the whole bucket). */
export interface S3Place {
  bucket: string;
  prefix: string;
}

/** Where a restore of `store` stages: a per-run folder beside the prefix, in the staging bucket if any. */
export function stagingPlace(store: S3Store, stagingId: string): S3Place {
  return { bucket: stagingBucketOf(store), prefix: `${store.prefix}${STAGING_SUFFIX}/${stagingId}` };
}

function stagingBucketOf(store: S3Store): string {
  return store.staging_bucket ?? store.bucket;
}

/** The prefix a listing of `place` asks for: "media/" (or "" for a whole bucket). */
export function listPrefix(place: S3Place): string {
  return place.prefix ? `${place.prefix}/` : '';
}

/**
 * A staging folder's keys (`x.lazarus-staging/...`) are never part of a store, even of a
 * whole-bucket store or a store whose prefix holds another store's staging folder.
 */
export function isStagingKey(relativeKey: string): boolean {
  return /(?:^|\/)[^/]*\.lazarus-staging\//.test(relativeKey);
}

/** Does one of two key prefixes hold the other? "" holds every prefix. */
function prefixesNest(a: string, b: string): boolean {
  const within = (child: string, parent: string) =>
    parent === '' || child === parent || child.startsWith(`${parent}/`);
  return within(a, b) || within(b, a);
}

function placesNest(a: S3Place, b: S3Place): boolean {
  return a.bucket === b.bucket && prefixesNest(a.prefix, b.prefix);
}

/** The server, the same however it is written; AWS itself when there is no endpoint. */
function serverOf(store: S3Store): string {
  if (!store.endpoint) return 'aws';
  return store.endpoint
    .toLowerCase()
    .replace(/\/+$/, '')
    .replace(/^(https?:\/\/)localhost(?=[:/]|$)/, '$1127.0.0.1');
}

/** `s3://bucket/prefix`, with the server when it is not AWS: for messages and the sandbox check. */
export function describeS3(store: S3Store): string {
  const where = `s3://${store.bucket}/${store.prefix}`;
  return store.endpoint ? `${where} at ${store.endpoint}` : where;
}

/** Objects in a bucket (or under a prefix of it) on S3 or an S3-compatible server; a drill's copy is the sandbox bucket. */
export const s3 = defineKind({
  kind: 's3',
  schema: s3Schema,
  validators: ['object_count', 'checksum', 'command', 'http'],
  storedAt: 'server',
  // The copy keeps the prefix, so the application finds its keys where it expects them.
  sandboxTarget: (store, { service }) =>
    store.sandbox_bucket === undefined
      ? {
          problem: `services.${service}.datastore.sandbox_bucket is not set: name an empty bucket (not the production one) for drills`,
        }
      : { target: store.prefix ? `${store.sandbox_bucket}/${store.prefix}` : store.sandbox_bucket },
  targetFormProblem: (target) => {
    const [bucket, ...prefix] = target.split('/');
    const ok =
      !target.endsWith('/') &&
      bucketName.safeParse(bucket).success &&
      keyPrefix.safeParse(prefix.join('/')).success;
    return ok ? undefined : 'name a bucket, optionally with a key prefix: media-copy or media-copy/uploads';
  },
  // A copy elsewhere stages inside its own bucket, never in production's staging bucket.
  retarget: (store, target) => {
    const [bucket, ...prefix] = target.split('/');
    return { ...store, bucket, prefix: prefix.join('/'), staging_bucket: undefined };
  },
  // Writing the copy replaces (and deletes) every object under its prefix: it overlaps any
  // store or staging folder it nests with on the same server.
  overlaps: (copy, production) =>
    serverOf(copy) === serverOf(production) &&
    (placesNest(copy, production) ||
      placesNest(copy, {
        bucket: stagingBucketOf(production),
        prefix: `${production.prefix}${STAGING_SUFFIX}`,
      })),
  identity: (store) => `s3:${serverOf(store)}/${store.bucket}/${store.prefix}`,
  discovery: {
    tier: 'critical',
    engines: [
      {
        engine: 'minio',
        images: /(^|\/)minio$/,
        ports: [9000],
        // Read by the server only: clients are given MINIO_ROOT_USER or MINIO_ACCESS_KEY too.
        env: /^(MINIO_VOLUMES|MINIO_OPTS|MINIO_DEFAULT_BUCKETS|MINIO_BROWSER\w*|MINIO_STORAGE_CLASS_\w+)$/,
      },
      { engine: 'versitygw', images: /(^|\/)versitygw$/, ports: [7070], env: /^VGW_\w+$/ },
    ],
    fromCompose: (host, env) => ({
      kind: 's3',
      endpoint: `http://${host}:${'ROOT_ACCESS_KEY' in env || 'VGW_PORT' in env ? 7070 : 9000}`,
      // bitnami/minio creates the buckets listed in MINIO_DEFAULT_BUCKETS ("media,avatars:public").
      bucket: env.MINIO_DEFAULT_BUCKETS?.split(',')[0].split(':')[0].trim() || BUCKET_PLACEHOLDER,
      force_path_style: true,
      ...credentialsFrom(env),
    }),
  },
});

/** The root credentials a MinIO or versitygw container is given, as references to the same variables. */
function credentialsFrom(env: Record<string, string>): Record<string, unknown> {
  const pairs = [
    ['MINIO_ROOT_USER', 'MINIO_ROOT_PASSWORD'],
    ['MINIO_ACCESS_KEY', 'MINIO_SECRET_KEY'],
    ['ROOT_ACCESS_KEY', 'ROOT_SECRET_KEY'],
  ];
  const found = pairs.find(([id, secret]) => env[id] !== undefined && env[secret] !== undefined);
  return found ? { access_key_id: { env: found[0] }, secret_access_key: { env: found[1] } } : {};
}
