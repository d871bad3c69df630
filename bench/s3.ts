/**
 * `node --expose-gc dist/bench/s3.js`: an S3 store on versitygw (started here) with 2,000 objects of
 * mixed sizes and one large object (BENCH_S3_LARGE_MB, default 50), snapshotted into a
 * local repository, restored into another bucket and compared. Reports each phase's time,
 * the archive's size and the peak RSS while the snapshot streams. Prints one JSON line.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adapterFor } from '../datastores/adapters';
import type { StoreOf } from '../datastores/registry';
import { Repository } from '../repository/repository';
import { s3Client } from '../repository/storage/s3';
import { startS3Server } from '../tools/s3-server';

const OBJECTS = Number(process.env.BENCH_S3_OBJECTS ?? 2000);
const LARGE_MB = Number(process.env.BENCH_S3_LARGE_MB ?? 50);

async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-bench-s3-'));
  const server = await startS3Server(path.join(dir, 'data'), ['bench-src', 'bench-dst']);
  try {
    process.env.BENCH_S3_ACCESS = server.accessKey;
    process.env.BENCH_S3_SECRET = server.secretKey;
    const store = (bucket: string): StoreOf<'s3'> => ({
      kind: 's3',
      endpoint: server.endpoint,
      region: 'us-east-1',
      bucket,
      prefix: 'app',
      access_key_id: { env: 'BENCH_S3_ACCESS' },
      secret_access_key: { env: 'BENCH_S3_SECRET' },
    });
    const source = store('bench-src');
    const target = store('bench-dst');
    const dataBytes = await fill(server, source.bucket);
    const adapter = adapterFor(source);
    const ctx = { stagingId: 'bench001', signal: new AbortController().signal };
    const repo = await Repository.openLocal(path.join(dir, 'repo'));

    // The adapter alone first: the archive read to its end and dropped, nothing else holding memory.
    global.gc?.();
    const sinkBaseline = process.memoryUsage().rss;
    let sinkPeak = sinkBaseline;
    const sinkSampler = setInterval(() => (sinkPeak = Math.max(sinkPeak, process.memoryUsage().rss)), 10);
    const s0 = Date.now();
    let archiveBytes = 0;
    for await (const chunk of await adapter.snapshot(source, ctx)) archiveBytes += (chunk as Buffer).length;
    const adapterOnlySeconds = (Date.now() - s0) / 1000;
    clearInterval(sinkSampler);

    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    const t0 = Date.now();
    const ref = await repo.storeSnapshot(await adapter.snapshot(source, ctx));
    const t1 = Date.now();
    clearInterval(sampler);
    await adapter.restore(target, repo.openSnapshot(ref), ctx);
    const t2 = Date.now();
    const equal = (await adapter.fingerprint(target)) === (await adapter.fingerprint(source));
    const t3 = Date.now();
    const mb = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;
    return {
      objects: OBJECTS + 1,
      dataMB: mb(dataBytes),
      archiveMB: mb(archiveBytes),
      repositorySnapshotMB: mb(ref.size),
      adapterOnlySnapshotSeconds: adapterOnlySeconds,
      rssBeforeAdapterOnlyMB: mb(sinkBaseline),
      peakRssAdapterOnlyMB: mb(sinkPeak),
      snapshotSeconds: (t1 - t0) / 1000,
      restoreSeconds: (t2 - t1) / 1000,
      twoFingerprintsSeconds: (t3 - t2) / 1000,
      equal,
      rssBeforeRepositorySnapshotMB: mb(baseline),
      peakRssDuringRepositorySnapshotMB: mb(peak),
    };
  } finally {
    await server.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** OBJECTS objects of 200 B to 8 KiB (a few with metadata and tags), and one of LARGE_MB, streamed from a file. */
async function fill(server: { endpoint: string; accessKey: string; secretKey: string }, bucket: string) {
  const client = s3Client({
    endpoint: server.endpoint,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
  });
  let bytes = 0;
  const put = async (i: number) => {
    const body = randomBytes(200 + ((i * 7919) % 8000));
    bytes += body.length;
    const extra =
      i % 10 === 0 ? { ContentType: 'image/png', Metadata: { n: String(i) }, Tagging: 'kind=thumb' } : {};
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: `app/img/${i % 40}/${i}.bin`, Body: body, ...extra }),
    );
  };
  for (let i = 0; i < OBJECTS; i += 16)
    await Promise.all(Array.from({ length: Math.min(16, OBJECTS - i) }, (_, j) => put(i + j)));
  const large = path.join(os.tmpdir(), `lazarus-bench-s3-large-${process.pid}`);
  await fs.writeFile(large, randomBytes(LARGE_MB << 20));
  const handle = await fs.open(large);
  await client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'app/video/large.mp4',
      Body: handle.createReadStream(),
      ContentLength: LARGE_MB << 20,
    }),
  );
  await fs.rm(large);
  client.destroy();
  return bytes + (LARGE_MB << 20);
}

main().then(
  (result) => console.log(JSON.stringify(result)),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
