/**
 * A worker process killed with SIGKILL in the middle of a backup, then of a restore:
 * a second worker finishes the run; the repository verifies clean, nothing is
 * duplicated, and the restored data equals the original.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { startRun } from '../temporal/runs';
import { appSpec } from '../model/app-spec';
import { fingerprintServices } from '../datastores/adapters';
import { loadManifest } from '../config/load-manifest';
import type { Manifest } from '../model/manifest';
import { Repository } from '../repository/repository';
import * as stores from './support/stores';
import { testClient, uniqueQueue } from './support/temporal';
import { killHard, spawnWorker, waitForStepInProgress } from './support/worker-process';

const SLOW = ['--rate-limit', String(1024 * 1024)]; // 1 MiB/s: each 4 MiB step takes about 4 s
const options = { heartbeatTimeoutSeconds: 3, concurrency: 4 };

let client: Client;
let dir: string;
let manifest: Manifest;
let original: Record<string, string>;

beforeAll(async () => {
  client = await testClient();
  dir = stores.tempDir();
  for (const name of ['photos', 'invoices', 'exports']) {
    await stores.directoryWithFiles(path.join(dir, name), 4, 1024 * 1024);
  }
  await stores.postgresWithRows('lz_crash_ledger', 50_000);
  manifest = loadManifest(
    await stores.writeManifest(dir, {
      app: 'crashtest',
      services: {
        photos: { datastore: { kind: 'directory', path: 'photos' } },
        invoices: { depends_on: ['ledger'], datastore: { kind: 'directory', path: 'invoices' } },
        exports: { depends_on: ['invoices'], datastore: { kind: 'directory', path: 'exports' } },
        ledger: { datastore: { kind: 'postgres', database: 'lz_crash_ledger' } },
      },
    }),
  );
  original = await fingerprints();
});

afterAll(() => client?.connection.close());

const fingerprints = () => fingerprintServices(manifest.services);

/** Runs a request on a slow worker, kills it mid-step, and lets a fresh worker finish. */
async function runThroughCrash(request: Parameters<typeof startRun>[2]) {
  const queue = uniqueQueue('crash');
  const doomed = await spawnWorker(queue, SLOW);
  const run = await startRun(client, queue, request);
  const handle = client.workflow.getHandle(run.workflowId);
  const interrupted = await waitForStepInProgress(handle);
  await killHard(doomed);
  const rescuer = await spawnWorker(queue);
  try {
    const result = await run.result;
    const history = await handle.fetchHistory();
    const retried = history.events!.filter(
      (e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1,
    ).length;
    return { result, interrupted, retried };
  } finally {
    await killHard(rescuer);
  }
}

test('a backup survives its worker being killed mid-snapshot', async () => {
  const { result, interrupted, retried } = await runThroughCrash({
    operation: 'backup',
    input: { spec: appSpec(manifest), options },
  });
  expect(interrupted).toMatch(/^snapshot\//);
  expect(retried).toBeGreaterThan(0); // a step really was cut off and ran again
  expect(result.outcome).toBe('succeeded');

  const repo = await Repository.open(manifest.repository);
  expect((await repo.verify({ readData: true })).problems).toEqual([]);
  const backups = await repo.listBackups('crashtest');
  expect(backups.map((b) => b.id)).toEqual([result.backupId]);
  // Nothing duplicated: the retried step found what the killed one had indexed, and each blob is indexed once.
  const indexedEntries = [...repo.engine.index.packs().values()].reduce((n, p) => n + p.blobs.length, 0);
  expect(indexedEntries).toBe(repo.engine.index.blobCount);
});

test('a restore survives its worker being killed mid-restore, and the data comes back equal', async () => {
  await fs.rm(path.join(dir, 'photos', 'part-1'), { recursive: true });
  await fs.rm(path.join(dir, 'exports', 'part-0'), { recursive: true });
  await stores.postgresQuery('lz_crash_ledger', 'UPDATE accounts SET balance = 0');
  expect(await fingerprints()).not.toEqual(original);

  const { result, interrupted, retried } = await runThroughCrash({
    operation: 'restore',
    input: { approved: true, spec: appSpec(manifest), options },
  });
  expect(interrupted).toMatch(/^restore\//);
  expect(retried).toBeGreaterThan(0);
  expect(result.outcome).toBe('succeeded');
  expect(await fingerprints()).toEqual(original);
  expect((await fs.readdir(dir)).filter((f) => f.includes('.lazarus-'))).toEqual([]);
  expect(await stores.postgresDatabases('lz_crash_ledger_')).toEqual([]);
});
