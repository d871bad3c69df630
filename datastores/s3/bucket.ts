/**
 * What the S3 adapter asks of a server: listing a place (bucket + prefix), reading an
 * object with its metadata and tags, deleting a place's objects; and the probe that turns
 * the SDK's failures into errors that name the store and the fix, before anything is written.
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  NoSuchKey,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { UserError } from '../../model/errors';
import { s3Client } from '../../repository/storage/s3';
import { resolveSecret } from '../shared/secrets';
import type { ObjectMetadata } from './archive';
import { type S3Place, type S3Store, describeS3, isStagingKey, listPrefix } from './spec';

export function clientFor(store: S3Store): S3Client {
  const accessKeyId = resolveSecret(store.access_key_id);
  const secretAccessKey = resolveSecret(store.secret_access_key);
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined))
    throw new UserError(
      `${describeS3(store)}: set both datastore.access_key_id and secret_access_key, or neither (the AWS SDK's own sources)`,
    );
  return s3Client({
    endpoint: store.endpoint,
    region: store.region,
    forcePathStyle: store.force_path_style,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    // No retry wrapper around a datastore's requests: a blip on one of thousands must not fail the step.
    maxAttempts: 3,
    // Objects are uploaded as streams: their Content-Encoding must stay the snapshot's.
    checksums: 'WHEN_REQUIRED',
  });
}

export interface ListedObject {
  /** The whole key. */
  key: string;
  /** The key below the place's prefix. */
  relative: string;
  size: number;
}

/** The objects of a place in the server's (key) order, staging folders left out. */
export async function* listPlace(client: S3Client, place: S3Place): AsyncGenerator<ListedObject> {
  const prefix = listPrefix(place);
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: place.bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      const relative = object.Key!.slice(prefix.length);
      if (!isStagingKey(relative)) yield { key: object.Key!, relative, size: object.Size ?? 0 };
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/** The key a relative key has in a place. */
export function keyIn(place: S3Place, relative: string): string {
  return listPrefix(place) + relative;
}

export interface FetchedObject {
  size: number;
  metadata: ObjectMetadata;
  tags: [string, string][];
  etag?: string;
  body: Readable;
}

/** An object's body (as a stream), metadata and tags; undefined when it was deleted since it was listed. */
export async function fetchObject(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<FetchedObject | undefined> {
  let got: GetObjectCommandOutput;
  try {
    got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    if (err instanceof NoSuchKey) return undefined;
    throw err;
  }
  const body = got.Body as Readable;
  try {
    // S3 reports x-amz-tagging-count only for an object that has tags (MinIO and versitygw
    // too): the objects without any, most of them, cost no second request.
    const tags = !got.TagCount ? [] : await fetchTags(client, bucket, key);
    return { size: got.ContentLength ?? 0, metadata: metadataOf(got), tags, etag: got.ETag, body };
  } catch (err) {
    body.destroy();
    throw err;
  }
}

async function fetchTags(client: S3Client, bucket: string, key: string): Promise<[string, string][]> {
  const { TagSet = [] } = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
  return TagSet.map((t): [string, string] => [t.Key!, t.Value ?? '']).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
}

function metadataOf(got: GetObjectCommandOutput): ObjectMetadata {
  const metadata: ObjectMetadata = {};
  for (const field of [
    'ContentType',
    'CacheControl',
    'ContentDisposition',
    'ContentEncoding',
    'ContentLanguage',
  ] as const)
    if (got[field]) metadata[field] = got[field];
  if (got.Metadata && Object.keys(got.Metadata).length > 0) metadata.Metadata = got.Metadata;
  return metadata;
}

/** Deletes the listed objects of a place, a thousand per request; `keep` spares the relative keys it accepts. */
export async function deleteObjects(
  client: S3Client,
  place: S3Place,
  keep: (relative: string) => boolean = () => false,
): Promise<number> {
  let batch: string[] = [];
  let deleted = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const { Errors = [] } = await client.send(
      new DeleteObjectsCommand({
        Bucket: place.bucket,
        Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
      }),
    );
    if (Errors.length > 0)
      throw new Error(
        `cannot delete ${Errors[0].Key} in ${place.bucket}: ${Errors[0].Code} ${Errors[0].Message}`,
      );
    deleted += batch.length;
    batch = [];
  };
  for await (const object of listPlace(client, place)) {
    if (keep(object.relative)) continue;
    batch.push(object.key);
    if (batch.length === 1000) await flush();
  }
  await flush();
  return deleted;
}

/**
 * Checks that the store's server answers, takes its credentials and has `bucket`: one
 * listing of at most one key. The errors say which field to fix.
 */
export async function probeBucket(
  client: S3Client,
  store: S3Store,
  bucket: string,
  field: string,
): Promise<void> {
  try {
    await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }));
  } catch (err) {
    throw probeError(err, describeS3(store), store, bucket, field);
  }
}

const refusedCredentials = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
]);

/** A failed request to `store`'s server as an error saying what to fix; `where` opens its message. */
export function probeError(
  err: unknown,
  where: string,
  store: Pick<S3Store, 'endpoint' | 'region'>,
  bucket: string,
  field: string,
): Error {
  const server = store.endpoint ?? `AWS S3 (${store.region})`;
  if (err instanceof S3ServiceException) {
    const status = err.$metadata.httpStatusCode;
    if (err.name === 'NoSuchBucket' || status === 404)
      return new UserError(
        `${where}: bucket ${bucket} does not exist on ${server}: create it, or correct datastore.${field}`,
      );
    if (refusedCredentials.has(err.name))
      return new UserError(
        `${where}: ${server} refused the credentials (${err.name}): check datastore.access_key_id and secret_access_key (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)`,
      );
    if (err.name === 'AccessDenied' || status === 403)
      return new UserError(
        `${where}: access to bucket ${bucket} is denied on ${server}: grant these credentials s3:ListBucket, GetObject, PutObject and DeleteObject there`,
      );
    return err;
  }
  const e = err as Error & { code?: string; cause?: Error & { code?: string } };
  if (e.name === 'CredentialsProviderError')
    return new UserError(
      `${where}: no credentials: set datastore.access_key_id and secret_access_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY on the worker`,
    );
  // Not a user error: a server that is down may be up for the next attempt.
  return new Error(
    `${where}: cannot reach ${server} (${networkReason(e)}): check datastore.endpoint and that the server is running`,
    { cause: err },
  );
}

/** "connect ECONNREFUSED 127.0.0.1:9000", from under the SDK's wrapper. */
function networkReason(err: Error & { code?: string }): string {
  return err.message.replace(/^AWS SDK error wrapper for (?:\w*Error: )?/, '') || err.code || err.name;
}
