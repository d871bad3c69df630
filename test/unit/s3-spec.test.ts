/**
 * The S3 kind without a server: which stores overlap (so a drill or a --target never
 * writes production), the targets it accepts, what discovery makes of a MinIO service,
 * and the archive format refusing a damaged or truncated stream.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ArchiveWriter, readArchive } from '../../datastores/s3/archive';
import { BUCKET_PLACEHOLDER, isStagingKey, s3 } from '../../datastores/s3/spec';
import type { StoreOf } from '../../datastores/registry';
import { datastoreSchema } from '../../datastores/registry';

const production: StoreOf<'s3'> = {
  kind: 's3',
  endpoint: 'http://minio:9000',
  region: 'us-east-1',
  bucket: 'media',
  prefix: 'uploads',
  staging_bucket: 'media-staging',
};

test('a copy overlaps production when their places nest on the same server, or it lands in production’s staging folder', () => {
  const at = (bucket: string, prefix: string, endpoint = production.endpoint) =>
    s3.overlaps({ ...production, bucket, prefix, endpoint }, production);
  expect(at('media', 'uploads')).toBe(true);
  expect(at('media', '')).toBe(true); // the whole bucket: a restore deletes production's objects
  expect(at('media', 'uploads/2024')).toBe(true);
  expect(at('media', 'uploads2')).toBe(false);
  expect(at('media', 'other')).toBe(false);
  expect(at('media-copy', 'uploads')).toBe(false);
  expect(at('media-staging', 'uploads.lazarus-staging')).toBe(true);
  expect(at('media-staging', 'elsewhere')).toBe(false);
  expect(at('media', 'uploads', 'http://MINIO:9000/')).toBe(true); // one server, written two ways
  expect(at('media', 'uploads', 'http://other-minio:9000')).toBe(false);
  expect(s3.overlaps({ ...production, endpoint: undefined }, production)).toBe(false); // AWS is another server
});

test('a target is a bucket with an optional prefix; the copy stages in its own bucket', () => {
  expect(s3.targetFormProblem('media-copy')).toBeUndefined();
  expect(s3.targetFormProblem('media-copy/uploads/2024')).toBeUndefined();
  for (const bad of ['Media', '/media', 'media/', 'media//x', 'ab'])
    expect(s3.targetFormProblem(bad)).toBe(
      'name a bucket, optionally with a key prefix: media-copy or media-copy/uploads',
    );
  expect(s3.retarget(production, 'media-copy/x/y')).toEqual({
    ...production,
    bucket: 'media-copy',
    prefix: 'x/y',
    staging_bucket: undefined,
  });
});

test('a drill needs sandbox_bucket and keeps the prefix there', () => {
  const place = { service: 'files', root: '/tmp/s', drillKey: 'd1' };
  expect(s3.sandboxTarget(production, place)).toEqual({
    problem:
      'services.files.datastore.sandbox_bucket is not set: name an empty bucket (not the production one) for drills',
  });
  expect(s3.sandboxTarget({ ...production, sandbox_bucket: 'media-drill' }, place)).toEqual({
    target: 'media-drill/uploads',
  });
});

test('staging keys are recognised at any depth, and only as folders', () => {
  expect(isStagingKey('.lazarus-staging/abc/x')).toBe(true);
  expect(isStagingKey('media.lazarus-staging/abc/x')).toBe(true);
  expect(isStagingKey('a/b.lazarus-staging/x')).toBe(true);
  expect(isStagingKey('notes.lazarus-staging')).toBe(false);
  expect(isStagingKey('media/a.txt')).toBe(false);
});

test('discovery: a MinIO service becomes a store with its endpoint and credentials, the bucket to fill in', () => {
  const minio = s3.discovery!.fromCompose('minio', {
    MINIO_ROOT_USER: 'admin',
    MINIO_ROOT_PASSWORD: 'secret',
  });
  expect(minio).toEqual({
    kind: 's3',
    endpoint: 'http://minio:9000',
    bucket: BUCKET_PLACEHOLDER,
    force_path_style: true,
    access_key_id: { env: 'MINIO_ROOT_USER' },
    secret_access_key: { env: 'MINIO_ROOT_PASSWORD' },
  });
  // The placeholder cannot be used by mistake: the manifest refuses it until it is filled in.
  const parsed = datastoreSchema.safeParse(minio);
  expect(parsed.success).toBe(false);
  expect(parsed.error?.issues[0]).toMatchObject({ path: ['bucket'] });
  expect(s3.discovery!.fromCompose('files', { MINIO_DEFAULT_BUCKETS: 'avatars:public,docs' })).toMatchObject({
    bucket: 'avatars',
  });
  const hints = s3.discovery!.engines;
  const images = (image: string) => hints.some((h) => h.images.test(image));
  expect(['minio/minio', 'bitnami/minio', 'versity/versitygw'].every(images)).toBe(true);
  expect(['minio/mc', 'bitnami/minio-client'].some(images)).toBe(false);
  // A client given the root user to connect with is not the server.
  expect(hints.some((h) => h.env?.test('MINIO_ROOT_USER'))).toBe(false);
});

function archiveOf(objects: { key: string; body: Buffer }[]): Buffer {
  const out = new ArchiveWriter();
  const parts = [out.start('b', '')];
  for (const { key, body } of objects) {
    parts.push(out.object({ key, size: body.length, metadata: {}, tags: [] }), out.pass(body));
    parts.push(out.pass(createHash('sha256').update(body).digest()));
  }
  parts.push(out.end());
  return Buffer.concat(parts);
}

async function readAll(bytes: Buffer, chunk = 7): Promise<string[]> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) pieces.push(bytes.subarray(i, i + chunk));
  const read: string[] = [];
  for await (const object of readArchive(Readable.from(pieces))) {
    const body: Buffer[] = [];
    for await (const part of object.body) body.push(part);
    read.push(`${object.header.key}=${Buffer.concat(body).toString()}`);
  }
  return read;
}

test('the archive reads back object by object, and refuses a damaged, truncated or extended stream', async () => {
  const bytes = archiveOf([
    { key: 'a', body: Buffer.from('first') },
    { key: 'b', body: Buffer.alloc(0) },
    { key: 'c', body: Buffer.from('third object') },
  ]);
  expect(await readAll(bytes)).toEqual(['a=first', 'b=', 'c=third object']);
  const flipped = Buffer.from(bytes);
  flipped[bytes.indexOf('third')] ^= 1;
  await expect(readAll(flipped)).rejects.toThrow('the snapshot is damaged: object c fails its SHA-256');
  await expect(readAll(bytes.subarray(0, bytes.length - 3))).rejects.toThrow('the snapshot ends early');
  await expect(readAll(Buffer.concat([bytes, Buffer.from('x')]))).rejects.toThrow('bytes after its trailer');
});
