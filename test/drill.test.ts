/**
 * DR drills on the real servers: a backup restored into a sandbox beside production,
 * validated, measured, and torn down after success, after a failed validator, and after
 * the worker running it was killed. Production is never touched.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { appSpec } from '../model/app-spec';
import { startRun } from '../temporal/runs';
import { fingerprintServices } from '../datastores/adapters';
import { loadManifest } from '../config/load-manifest';
import type { Manifest } from '../model/manifest';
import type { DrillReport } from '../workflows/drill-report';
import * as stores from './support/stores';
import { runToEnd, startWorker, testClient, uniqueQueue } from './support/temporal';
import { killHard, spawnWorker, waitForStepInProgress } from './support/worker-process';

const SANDBOX_REDIS_DB = 11;
let client: Client;
let dir: string;

beforeAll(async () => {
  client = await testClient();
  dir = stores.tempDir();
  stores.sqliteWithRows(path.join(dir, 'catalog.db'), 100);
  await stores.directoryWithFiles(path.join(dir, 'media'), 6, 512 * 1024);
  await stores.postgresWithRows('lz_drill_ledger', 60);
  await stores.mariadbWithRows('lz_drill_stock', 40);
  await stores.redisWithKeys(9, 25);
});

afterAll(() => client?.connection.close());

async function drillManifest(extraValidators: unknown[] = []): Promise<Manifest> {
  return loadManifest(
    await stores.writeManifest(dir, {
      app: 'drilltest',
      tiers: { critical: { rto: '10m', rpo: '1h' } },
      services: {
        catalog: {
          tier: 'critical',
          datastore: { kind: 'sqlite', path: 'catalog.db' },
          validate: [
            { row_count: { table: 'items', min: 100 } },
            { sql: 'SELECT label FROM items WHERE id = 7', expect: 'x-7' },
            { checksum: true },
            ...extraValidators,
          ],
        },
        media: {
          datastore: { kind: 'directory', path: 'media' },
          validate: [{ command: 'test "$(find "$LAZARUS_SANDBOX_TARGET" -type f | wc -l)" -eq 6' }],
        },
        ledger: {
          tier: 'critical',
          datastore: { kind: 'postgres', database: 'lz_drill_ledger' },
          validate: [{ row_count: { table: 'accounts', min: 60, max: 60 } }],
        },
        stock: {
          depends_on: ['ledger'],
          datastore: { kind: 'mariadb', database: 'lz_drill_stock' },
          validate: [{ sql: 'SELECT COUNT(*) FROM stock', expect: 40 }],
        },
        sessions: {
          datastore: { kind: 'redis', db: 9, staging_db: 10, sandbox_db: SANDBOX_REDIS_DB },
          validate: [{ key_count: { pattern: 'str:*', min: 25 } }],
        },
        api: { depends_on: ['catalog', 'stock', 'sessions', 'media'] },
      },
    }),
  );
}

/** Nothing of any sandbox remains: no directory, no database, no key. */
async function expectNoSandboxLeft(manifest: Manifest): Promise<void> {
  expect(existsSync(manifest.sandbox) ? readdirSync(manifest.sandbox) : []).toEqual([]);
  expect(await stores.postgresDatabases('lz_drill_ledger_')).toEqual([]);
  expect(await stores.mariadbQuery("SHOW DATABASES LIKE 'lz\\_drill\\_stock\\_%'")).toEqual([]);
  const sandboxRedis = stores.redisClient(SANDBOX_REDIS_DB);
  expect(await sandboxRedis.dbsize()).toBe(0);
  sandboxRedis.disconnect();
}

async function backupOf(manifest: Manifest, queue: string): Promise<string> {
  const backup = await runToEnd(client, queue, { operation: 'backup', input: { spec: appSpec(manifest) } });
  expect(backup.outcome).toBe('succeeded');
  return backup.backupId;
}

async function drill(queue: string, manifest: Manifest, backupId?: string): Promise<DrillReport> {
  const run = await startRun(client, queue, {
    operation: 'drill',
    input: { spec: appSpec(manifest), backupId },
  });
  return (await run.result) as unknown as DrillReport;
}

test('a drill restores into a sandbox, validates, measures RTO and RPO, and leaves nothing behind', async () => {
  const queue = uniqueQueue('drill');
  const worker = await startWorker(queue);
  try {
    const manifest = await drillManifest();
    const backupId = await backupOf(manifest, queue);
    const production = await fingerprintServices(manifest.services);

    const report = await drill(queue, manifest, backupId);
    expect(report.reasons).toEqual([]);
    expect(report.outcome).toBe('succeeded');
    expect(report.backupId).toBe(backupId);
    for (const name of ['catalog', 'media', 'ledger', 'stock', 'sessions']) {
      const service = report.services[name];
      expect(service.status).toBe('succeeded');
      expect(service.validation?.results.every((r) => r.ok)).toBe(true);
      expect(service.rto!.ms).toBeGreaterThan(0);
      expect(service.rto!.met).toBe(true);
      expect(service.rpo!.ms).toBeGreaterThanOrEqual(0);
    }
    expect(report.services.catalog.rto!.targetMs).toBe(10 * 60_000);
    expect(report.services.sessions.sandbox).toBe(String(SANDBOX_REDIS_DB));
    expect(report.services.ledger.sandbox).toMatch(/^lz_drill_ledger_lzd_/);
    // The application is back when its last service is.
    expect(report.rto!.ms).toBe(Math.max(...Object.values(report.services).map((s) => s.rto?.ms ?? 0)));
    expect(report.layers[0]).toEqual(expect.arrayContaining(['catalog', 'ledger', 'media', 'sessions']));
    expect(report.teardown).toEqual({ ok: true, problems: [] });

    await expectNoSandboxLeft(manifest);
    expect(await fingerprintServices(manifest.services)).toEqual(production);
  } finally {
    await worker.stop();
  }
});

test('a failed validator fails the drill, which still tears its sandbox down', async () => {
  const queue = uniqueQueue('drill-fail');
  const worker = await startWorker(queue);
  try {
    const manifest = await drillManifest([{ sql: 'SELECT COUNT(*) FROM items', expect: 999 }]);
    const report = await drill(queue, manifest, await backupOf(manifest, queue));
    expect(report.outcome).toBe('failed');
    expect(report.services.catalog.status).toBe('failed');
    expect(report.reasons).toEqual(['catalog: sql SELECT COUNT(*) FROM items = 999: got 100']);
    expect(report.services.ledger.status).toBe('succeeded');
    await expectNoSandboxLeft(manifest);
  } finally {
    await worker.stop();
  }
});

test('a drill whose worker is killed mid-restore is finished by another, and leaves nothing behind', async () => {
  const queue = uniqueQueue('drill-kill');
  const manifest = await drillManifest();
  const helper = await startWorker(queue);
  const backupId = await backupOf(manifest, queue);
  await helper.stop();

  const doomed = await spawnWorker(queue, ['--rate-limit', String(256 * 1024)]);
  const run = await startRun(client, queue, {
    operation: 'drill',
    input: { spec: appSpec(manifest), backupId, options: { heartbeatTimeoutSeconds: 3 } },
  });
  const handle = client.workflow.getHandle(run.workflowId);
  const step = await waitForStepInProgress(handle);
  expect(step).toMatch(/^restore\//);
  await killHard(doomed);
  const rescuer = await spawnWorker(queue);
  try {
    const report = (await run.result) as unknown as DrillReport;
    expect(report.outcome).toBe('succeeded');
    await expectNoSandboxLeft(manifest);
  } finally {
    await killHard(rescuer);
  }
});

test('a drill of a graph split into child workflows validates and tears down the same way', async () => {
  const queue = uniqueQueue('drill-partitioned');
  const worker = await startWorker(queue);
  try {
    const manifest = await drillManifest();
    const backupId = await backupOf(manifest, queue);
    const run = await startRun(client, queue, {
      operation: 'drill',
      input: { spec: appSpec(manifest), backupId, options: { partitionSize: 2 } },
    });
    const report = (await run.result) as unknown as DrillReport;
    expect(report.reasons).toEqual([]);
    expect(Object.values(report.services).every((s) => s.status !== 'failed')).toBe(true);
    expect(report.services.stock.validation?.results.every((r) => r.ok)).toBe(true);
    // The restores ran in child workflows named after the drill: layer 0 alone needs two.
    for (const child of ['L0-0', 'L0-1']) {
      const description = await client.workflow.getHandle(`${run.workflowId}/${child}`).describe();
      expect(description.type).toBe('restorePartition');
    }
    await expectNoSandboxLeft(manifest);
  } finally {
    await worker.stop();
  }
});

test('a drill that could touch production does not start', async () => {
  const queue = uniqueQueue('drill-unsafe');
  const worker = await startWorker(queue);
  try {
    const manifest = await drillManifest();
    const sessions = manifest.services.sessions.datastore as { sandbox_db?: number };
    sessions.sandbox_db = 9; // the production index itself
    const run = await startRun(client, queue, { operation: 'drill', input: { spec: appSpec(manifest) } });
    const error = await run.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(String((error as WorkflowFailedError).cause?.message)).toMatch(
      /unsafe sandbox: the sandbox copy of sessions \(9\) would overwrite sessions's data/,
    );
  } finally {
    await worker.stop();
  }
});
