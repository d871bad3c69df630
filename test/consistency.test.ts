/**
 * Consistency groups on the real servers: the checkout invariant survives backup and
 * restore under load, and a freeze dies with the worker that holds it.
 */
import path from 'node:path';
import type { Client } from '@temporalio/client';
import Database from 'better-sqlite3';
import { runTrials } from '../bench/consistency-trials';
import { startRun } from '../temporal/runs';
import { appSpec } from '../model/app-spec';
import { loadManifest } from '../config/load-manifest';
import * as stores from './support/stores';
import { startWorker, testClient, uniqueQueue } from './support/temporal';
import { killHard, spawnWorker } from './support/worker-process';
import { Repository } from '../repository/repository';
import { FreezeError, establishPoints } from '../activities/group-snapshot';
import { workerActivityDeps } from '../worker/activity-deps';

let client: Client;

beforeAll(async () => {
  client = await testClient();
});

afterAll(() => client?.connection.close());

test('the cross-service invariant holds after restore, with the workload at full speed', async () => {
  const queue = uniqueQueue('consistency');
  const worker = await startWorker(queue);
  try {
    const dir = stores.tempDir();
    const result = await runTrials({ client, taskQueue: queue, dir, trials: 3, group: true });
    expect(result.violatingTrials).toBe(0);
    // The load was real: units moved while every backup ran.
    expect(result.movesDuringBackups).toBeGreaterThan(30);
    expect(result.freezeMs).toHaveLength(3);
    for (const ms of result.freezeMs) expect(ms).toBeLessThanOrEqual(2000);

    // Each member's snapshot is of the group's one moment, with the store's position.
    const manifest = loadManifest(path.join(dir, 'with-group.yaml'));
    const [latest] = (await (await Repository.open(manifest.repository)).listBackups('checkout')).slice(-1);
    const members = Object.values(latest.services);
    expect(new Set(members.map((m) => m.takenAt)).size).toBe(1);
    expect(latest.services.orders.position).toMatch(/^lsn [0-9A-F]+\/[0-9A-F]+$/);
    expect(latest.services.stock.position).toMatch(/^binlog off|^binlog \S+:\d+/);
    expect(latest.services.reservations.position).toMatch(/^replication offset \d+$/);
    expect(members.every((m) => m.group === 'checkout')).toBe(true);
  } finally {
    await worker.stop();
  }
});

test('a freeze is released when the worker holding it is killed: writes resume within the heartbeat timeout', async () => {
  const dir = stores.tempDir();
  stores.sqliteWithRows(path.join(dir, 'ledger.db'), 10);
  const manifest = loadManifest(
    await stores.writeManifest(dir, {
      app: 'freezekill',
      services: {
        sessions: { datastore: { kind: 'redis', db: 14, staging_db: 15 } },
        ledger: { datastore: { kind: 'sqlite', path: 'ledger.db' } },
      },
      consistency_groups: { both: { members: ['sessions', 'ledger'], max_freeze: '30s' } },
    }),
  );
  // Another writer holds the ledger, so the group's freeze stays stuck half-taken: Redis paused.
  const other = new Database(path.join(dir, 'ledger.db'));
  other.exec('BEGIN IMMEDIATE');
  const redis = stores.redisClient(14);
  const queue = uniqueQueue('freezekill');
  const worker = await spawnWorker(queue);
  const run = await startRun(client, queue, {
    operation: 'backup',
    input: { spec: appSpec(manifest), options: { heartbeatTimeoutSeconds: 3, maxAttempts: 1 } },
  });
  run.result.catch(() => {}); // ended by the test
  try {
    // Wait until a write blocks: the pause is on.
    let pendingWrite: Promise<unknown> | undefined;
    for (const until = Date.now() + 30_000; !pendingWrite && Date.now() < until; await sleep(50)) {
      const write = redis.set('probe', 'x');
      const blocked = await Promise.race([write.then(() => false), sleep(300).then(() => true)]);
      if (blocked) pendingWrite = write;
    }
    expect(pendingWrite).toBeDefined();

    const killedAt = Date.now();
    await killHard(worker);
    await pendingWrite;
    const resumedAfterMs = Date.now() - killedAt;
    // The freeze's bound is 30 s; the pause lapses with the dead worker's lease (3 s).
    expect(resumedAfterMs).toBeLessThan(3000 + 1000);
  } finally {
    other.exec('ROLLBACK');
    other.close();
    await redis.flushdb();
    redis.disconnect();
    await client.workflow.getHandle(run.workflowId).terminate('test over');
  }
});

test('a freeze that reaches its bound is released at once, and the attempt fails to be retried', async () => {
  const dir = stores.tempDir();
  stores.sqliteWithRows(path.join(dir, 'ledger.db'), 10);
  const other = new Database(path.join(dir, 'ledger.db'));
  other.exec('BEGIN IMMEDIATE');
  const redis = stores.redisClient(14);
  const started = Date.now();
  try {
    const attempt = establishPoints(
      {
        group: 'g',
        members: [
          { service: 'sessions', datastore: redisStore(14, 15), stagingId: 'bound1' },
          {
            service: 'ledger',
            datastore: { kind: 'sqlite', path: path.join(dir, 'ledger.db') },
            stagingId: 'bound2',
          },
        ],
        maxFreezeMs: 500,
        leaseMs: 10_000,
        context: { app: 'bound' },
        scratchDir: path.join(dir, 'scratch'),
      },
      new AbortController().signal,
      workerActivityDeps(),
    );
    attempt.catch(() => {});
    await sleep(150);
    const during = redis.set('probe', 'during');
    expect(await Promise.race([during.then(() => 'written'), sleep(200).then(() => 'blocked')])).toBe(
      'blocked',
    );
    await expect(attempt).rejects.toThrow(FreezeError);
    expect(Date.now() - started).toBeLessThan(1500);
    await during;
    // Redis is writable again straight away, long before its 10 s lease would lapse.
    const write = redis.set('probe', 'after');
    expect(await Promise.race([write.then(() => 'written'), sleep(500).then(() => 'blocked')])).toBe(
      'written',
    );
  } finally {
    other.exec('ROLLBACK');
    other.close();
    await redis.flushdb();
    redis.disconnect();
  }
});

function redisStore(db: number, staging: number) {
  return { kind: 'redis', host: '127.0.0.1', port: 6379, db, staging_db: staging } as const;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
