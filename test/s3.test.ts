/**
 * The S3 backend against a real S3-compatible server (versitygw, started here over a
 * temporary directory): the backend contract every backend keeps, and a whole repository
 * round trip, through the same storage stack the local backend is opened with.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { S3Backend } from '../repository/storage/s3';
import { Repository } from '../repository/repository';
import { type S3Server, startS3Server } from '../tools/s3-server';
import { backendContract } from './contracts/backend';
import { catalogEntry } from '../repository/testing';
import { recordSameMillisecond } from './support/repository';
import { tempDir } from './support/stores';

let server: S3Server;
const options = {
  chunking: { minSize: 16 << 10, avgSize: 64 << 10, maxSize: 256 << 10 },
  packSize: 512 << 10,
  kdf: { N: 2 ** 10, r: 8, p: 1 },
  password: 'correct horse',
};

beforeAll(async () => {
  server = await startS3Server(path.join(tempDir(), 's3'), ['lazarus'], (m) => console.log(m));
  process.env.AWS_ACCESS_KEY_ID = server.accessKey;
  process.env.AWS_SECRET_ACCESS_KEY = server.secretKey;
}, 600_000);
afterAll(() => server?.stop());

let prefixes = 0;
backendContract('S3', async () => {
  return new S3Backend({ bucket: 'lazarus', prefix: `contract-${++prefixes}`, endpoint: server.endpoint });
});

test('a repository on S3: encrypted snapshots round trip, deduplicate, and verify', async () => {
  const spec = { location: 's3://lazarus/shop-repo', endpoint: server.endpoint };
  // Only a backup creates a repository: reading a prefix without a config refuses it.
  await expect(Repository.open(spec, options)).rejects.toThrow(
    'no Lazarus repository at s3://lazarus/shop-repo (no "config" there): check repository.s3, or run "lazarus backup" to create the repository',
  );
  const repo = await Repository.open(spec, { ...options, create: true });
  const data = Buffer.concat([randomBytes(2 << 20), Buffer.from('orders\n'.repeat(300_000))]);
  const first = await repo.storeSnapshotWithStats(Readable.from([data]));
  const parts: Buffer[] = [];
  for await (const part of repo.openSnapshot(first.ref)) parts.push(part as Buffer);
  expect(Buffer.concat(parts).equals(data)).toBe(true);

  const again = await Repository.open(spec, options); // another worker
  const second = await again.storeSnapshotWithStats(Readable.from([data]));
  expect(second.stats.newChunks).toBe(0);
  await again.saveBackup(catalogEntry('b1', { orders: first.ref }));
  const report = await again.verify({ readData: true });
  expect(report).toMatchObject({ backups: 1, snapshots: 1, problems: [], unindexedPacks: 0 });
  expect(report.packsRead).toBe(report.packs);
  await expect(Repository.open(spec, { ...options, password: 'wrong' })).rejects.toThrow(
    'wrong password for this repository',
  );
  await Promise.all([repo.close(), again.close()]);
});

test('on S3, backups started in the same millisecond each get an entry (create-only writes)', async () => {
  const repo = await Repository.open(
    { location: 's3://lazarus/same-ms', endpoint: server.endpoint },
    { ...options, create: true },
  );
  const { ids, retried, listed } = await recordSameMillisecond(repo);
  expect(new Set(ids).size).toBe(10);
  expect(retried).toBe(ids[3]);
  expect(listed).toHaveLength(10);
});
