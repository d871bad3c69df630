/**
 * S3 buckets as a datastore, on a real S3 server (one versitygw for the file): the
 * datastore contract, then what a user of object storage would notice: metadata and tags
 * kept, the staging bucket, prefixes beside the store left alone, a drill into the
 * sandbox bucket with an object_count validator, and clear refusals of bad input.
 */
import {
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { adapterFor } from '../datastores/adapters';
import type { StoreOf } from '../datastores/registry';
import { Repository } from '../repository/repository';
import { s3Client } from '../repository/storage/s3';
import { freePort } from '../tools/local-server';
import { type S3Server, startS3Server } from '../tools/s3-server';
import { runValidators, sandboxStore } from '../activities/drill';
import { sandboxFor } from '../workflows/sandbox';
import { listS3Stores } from '../datastores/s3/live';
import { ctx, datastoreContract } from './contracts/datastore';
import { tempDir } from './support/stores';

type S3Store = StoreOf<'s3'>;

let server: S3Server;
let dataDir: string;
let client: S3Client;
const adapter = adapterFor({ kind: 's3' } as S3Store);

beforeAll(async () => {
  dataDir = path.join(tempDir(), 's3');
  server = await startS3Server(dataDir, ['lz-s3-src', 'lz-s3-stage', 'lz-s3-sandbox', 'lz-s3-dst'], (m) =>
    console.log(m),
  );
  process.env.LZ_S3_ACCESS = server.accessKey;
  process.env.LZ_S3_SECRET = server.secretKey;
  client = s3Client({ endpoint: server.endpoint, credentials: credentials() });
}, 600_000);
afterAll(() => server?.stop());

function credentials() {
  return { accessKeyId: server.accessKey, secretAccessKey: server.secretKey };
}

function store(bucket: string, prefix = '', more: Partial<S3Store> = {}): S3Store {
  return {
    kind: 's3',
    endpoint: server.endpoint,
    region: 'us-east-1',
    bucket,
    prefix,
    access_key_id: { env: 'LZ_S3_ACCESS' },
    secret_access_key: { env: 'LZ_S3_SECRET' },
    ...more,
  };
}

/** versitygw's posix backend serves each top-level directory as a bucket. */
async function newBucket(name: string): Promise<string> {
  await fs.mkdir(path.join(dataDir, name), { recursive: true });
  return name;
}

async function put(
  bucket: string,
  key: string,
  body: string | Buffer,
  more: Partial<PutObjectCommandInput> = {},
) {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...more }));
}

/** Every key in a bucket, staging folders included: what a user listing it sees. */
async function allKeys(bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** An application's files: small ones, an empty one, a 3 MB one, odd keys, metadata and tags. */
async function filesIn(place: S3Store, count: number): Promise<void> {
  const at = (key: string) => (place.prefix ? `${place.prefix}/${key}` : key);
  for (let i = 0; i < count; i += 16)
    await Promise.all(
      Array.from({ length: Math.min(16, count - i) }, (_, j) =>
        put(
          place.bucket,
          at(`img/${String(i + j).padStart(4, '0')}.bin`),
          Buffer.alloc(100 + (i + j) * 37, (i + j) % 251),
        ),
      ),
    );
  await put(place.bucket, at('empty'), '');
  await put(place.bucket, at('video/big.mp4'), Buffer.alloc(3 << 20, 7));
  await put(place.bucket, at('odd keys/ü ñ+&=?.txt'), 'unicode');
  await put(place.bucket, at('docs/report.html.gz'), 'compressed-bytes', {
    ContentType: 'text/html; charset=utf-8',
    CacheControl: 'max-age=3600',
    ContentDisposition: 'attachment; filename="report.html"',
    ContentEncoding: 'gzip',
    Metadata: { owner: 'ana', 'uploaded-by': 'web-42' },
    Tagging: 'retention=7y&team=billing',
  });
}

let run = 0;
datastoreContract('s3', {
  async stores() {
    // The source is a prefix of a shared bucket; the target a whole bucket of its own,
    // staging beside its objects (".lazarus-staging/"), the hardest case for hiding it.
    const source = store('lz-s3-src', `app/run-${++run}`);
    const target = store(await newBucket(`lz-s3-target-${run}`));
    await filesIn(source, 300);
    await put(target.bucket, 'stale/old.txt', 'not in the snapshot');
    await put(target.bucket, 'img/0001.bin', 'other content under a restored key');
    return { source, target };
  },
  leftovers: (target) => allKeys(target.bucket, '.lazarus-staging/'),
  async checkRestored(target) {
    const head = await client.send(
      new HeadObjectCommand({ Bucket: target.bucket, Key: 'docs/report.html.gz' }),
    );
    expect(head).toMatchObject({
      ContentType: 'text/html; charset=utf-8',
      CacheControl: 'max-age=3600',
      ContentDisposition: 'attachment; filename="report.html"',
      ContentEncoding: 'gzip',
      Metadata: { owner: 'ana', 'uploaded-by': 'web-42' },
    });
    const { TagSet } = await client.send(
      new GetObjectTaggingCommand({ Bucket: target.bucket, Key: 'docs/report.html.gz' }),
    );
    expect(TagSet).toEqual(
      expect.arrayContaining([
        { Key: 'retention', Value: '7y' },
        { Key: 'team', Value: 'billing' },
      ]),
    );
    const keys = await allKeys(target.bucket);
    expect(keys).toHaveLength(304);
    expect(keys).not.toContain('stale/old.txt');
    expect(keys).toContain('odd keys/ü ñ+&=?.txt');
  },
});

test('through a staging bucket, into a prefix: the objects beside the prefix are left alone', async () => {
  const source = store('lz-s3-src', 'shop/media');
  await filesIn(source, 20);
  const bucket = await newBucket('lz-s3-beside');
  const target = store(bucket, 'media', { staging_bucket: 'lz-s3-stage' });
  await put(bucket, 'media/stale.txt', 'gone after the restore');
  await put(bucket, 'media2/sibling.txt', 'another prefix');
  await put(bucket, 'other/file.txt', 'another prefix');
  const repo = await Repository.openLocal(path.join(tempDir(), 'repo'), { workers: 0 });
  const ref = await repo.storeSnapshot(await adapter.snapshot(source, ctx()));

  await adapter.restore(target, repo.openSnapshot(ref), ctx('stgbkt01'));
  expect(await adapter.fingerprint(target)).toBe(await adapter.fingerprint(source));
  expect(await allKeys(bucket, 'media2/')).toEqual(['media2/sibling.txt']);
  expect(await allKeys(bucket, 'other/')).toEqual(['other/file.txt']);
  expect(await allKeys(bucket, 'media/stale')).toEqual([]);
  expect(await allKeys('lz-s3-stage')).toEqual([]);
});

test('a store never includes a staging folder, and a whole-bucket store not the folders of the prefixes in it', async () => {
  const bucket = await newBucket('lz-s3-nested');
  await put(bucket, 'media/a.txt', 'a');
  await put(bucket, 'media.lazarus-staging/run1/a.txt', 'staged');
  await put(bucket, '.lazarus-staging/run2/b.txt', 'staged');
  const whole = store(bucket);
  expect(await adapter.count!(whole, '')).toBe(1);
  const before = await adapter.fingerprint(whole);
  await put(bucket, 'media.lazarus-staging/run1/b.txt', 'staged too');
  expect(await adapter.fingerprint(whole)).toBe(before);
  await put(bucket, 'media/b.txt', 'b');
  expect(await adapter.fingerprint(whole)).not.toBe(before);
});

test('the fingerprint changes with an object’s metadata or tags, not only its bytes', async () => {
  const bucket = await newBucket('lz-s3-meta');
  const live = store(bucket);
  await put(bucket, 'a.txt', 'same bytes', { ContentType: 'text/plain' });
  const plain = await adapter.fingerprint(live);
  await put(bucket, 'a.txt', 'same bytes', { ContentType: 'text/csv' });
  const retyped = await adapter.fingerprint(live);
  await put(bucket, 'a.txt', 'same bytes', { ContentType: 'text/csv', Tagging: 'x=1' });
  const tagged = await adapter.fingerprint(live);
  expect(new Set([plain, retyped, tagged]).size).toBe(3);
});

test('a drill restores into the sandbox bucket, never production, and counts the objects there', async () => {
  const production = store('lz-s3-src', 'drill/app', { sandbox_bucket: 'lz-s3-sandbox' });
  await filesIn(production, 30);
  const spec = {
    app: 'shop',
    repository: { location: '/srv/repo' },
    services: { media: { tier: 'standard', depends_on: [], datastore: production } },
  };
  const unsandboxed = { ...production, sandbox_bucket: undefined };
  expect(
    sandboxFor({ ...spec, services: { media: { ...spec.services.media, datastore: unsandboxed } } }, 'd1')
      .problems,
  ).toEqual([
    'services.media.datastore.sandbox_bucket is not set: name an empty bucket (not the production one) for drills',
  ]);
  const sandbox = sandboxFor(spec, 'd1');
  expect(sandbox).toMatchObject({ problems: [], targets: { media: 'lz-s3-sandbox/drill/app' } });

  const original = await adapter.fingerprint(production);
  const repo = await Repository.openLocal(path.join(tempDir(), 'repo'), { workers: 0 });
  const ref = await repo.storeSnapshot(await adapter.snapshot(production, ctx()));
  const copy = sandboxStore({ adapterFor }, production, sandbox.targets.media) as S3Store;
  expect(copy).toMatchObject({ bucket: 'lz-s3-sandbox', prefix: 'drill/app' });
  await adapter.restore(copy, repo.openSnapshot(ref), ctx('drill001'));
  expect(await adapter.fingerprint(copy)).toBe(original);
  expect(await adapter.fingerprint(production)).toBe(original);

  const results = await runValidators(
    { adapterFor, runHookOnce: () => Promise.reject(new Error('no hooks here')) },
    {
      repository: { location: repo.root },
      service: 'media',
      datastore: production,
      target: sandbox.targets.media,
      validators: [
        { object_count: { prefix: 'img/', min: 30, max: 30 } },
        { object_count: { prefix: 'nothing/', min: 1 } },
      ],
      context: { app: 'shop', operation: 'drill', runId: 'r1' } as never,
    },
    repo,
    new AbortController().signal,
  );
  expect(results).toEqual([
    { check: 'object_count img/ >= 30', ok: true, detail: '30' },
    { check: 'object_count nothing/ >= 1', ok: false, detail: '0' },
  ]);
  await adapter.drop(copy);
  expect(await adapter.holdsData(copy)).toBe(false);
  expect(await adapter.fingerprint(production)).toBe(original);
});

describe('bad input: a clear error naming the store and the fix, before anything is written', () => {
  async function snapshotOf(source: S3Store) {
    const repo = await Repository.openLocal(path.join(tempDir(), 'repo'), { workers: 0 });
    return { repo, ref: await repo.storeSnapshot(await adapter.snapshot(source, ctx())) };
  }

  test('an unreachable endpoint', async () => {
    const down = store('lz-s3-src', '', { endpoint: `http://127.0.0.1:${await freePort()}` });
    const port = down.endpoint!.split(':')[2];
    await expect(adapter.snapshot(down, ctx())).rejects.toThrow(
      `s3://lz-s3-src/ at ${down.endpoint}: cannot reach ${down.endpoint} (connect ECONNREFUSED 127.0.0.1:${port}): check datastore.endpoint and that the server is running`,
    );
    await expect(adapter.restore(down, Readable.from([]), ctx())).rejects.toThrow('cannot reach');
  });

  test('wrong credentials', async () => {
    process.env.LZ_S3_WRONG = 'not-the-secret';
    const wrong = store('lz-s3-src', 'x', { secret_access_key: { env: 'LZ_S3_WRONG' } });
    await expect(adapter.fingerprint(wrong)).rejects.toThrow(
      `s3://lz-s3-src/x at ${server.endpoint}: ${server.endpoint} refused the credentials (SignatureDoesNotMatch): check datastore.access_key_id and secret_access_key`,
    );
    const half = store('lz-s3-src', 'x', { secret_access_key: undefined });
    await expect(adapter.fingerprint(half)).rejects.toThrow(
      'set both datastore.access_key_id and secret_access_key, or neither',
    );
  });

  test('a bucket or staging bucket that does not exist; the live objects untouched', async () => {
    await expect(adapter.snapshot(store('lz-s3-nosuch'), ctx())).rejects.toThrow(
      `s3://lz-s3-nosuch/ at ${server.endpoint}: bucket lz-s3-nosuch does not exist on ${server.endpoint}: create it, or correct datastore.bucket`,
    );
    const source = store('lz-s3-src', 'bad/src');
    await filesIn(source, 3);
    const { repo, ref } = await snapshotOf(source);
    const live = store(await newBucket('lz-s3-bad-live'), '', { staging_bucket: 'lz-s3-nostage' });
    await put(live.bucket, 'keep.txt', 'live data');
    const before = await adapter.fingerprint(live);
    await expect(adapter.restore(live, repo.openSnapshot(ref), ctx('nostage1'))).rejects.toThrow(
      'bucket lz-s3-nostage does not exist on',
    );
    await expect(adapter.restore(live, repo.openSnapshot(ref), ctx('nostage1'))).rejects.toThrow(
      'create it, or correct datastore.staging_bucket',
    );
    expect(await adapter.fingerprint(live)).toBe(before);
    expect(await allKeys(live.bucket)).toEqual(['keep.txt']);
  });
});

test('live discovery lists one store per bucket, reached as the URL did, its keys never written down', async () => {
  const url = server.endpoint.replace('//', `//${server.accessKey}:${server.secretKey}@`);
  const found = await listS3Stores(url);
  expect(found).toContainEqual({
    name: 'lz-s3-src',
    datastore: {
      kind: 's3',
      endpoint: server.endpoint,
      force_path_style: true,
      region: 'us-east-1',
      bucket: 'lz-s3-src',
    },
  });
  expect(JSON.stringify(found)).not.toContain(server.secretKey);
  const wrong = server.endpoint.replace('//', `//${server.accessKey}:nope@`);
  await expect(listS3Stores(wrong)).rejects.toThrow(
    `--s3 ${server.endpoint.replace('//', `//${server.accessKey}:***@`)}: ${server.endpoint} refused the credentials`,
  );
  await expect(listS3Stores('minio:9000')).rejects.toThrow('--s3 minio:9000: write the server');
});
