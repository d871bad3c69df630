/**
 * Backup and restore as real workflows on the real dev server, with an in-process worker.
 * Snapshot and restore streams are rate-limited so that steps take measurable time.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { appSpec } from '../model/app-spec';
import { adapterFor, fingerprintServices } from '../datastores/adapters';
import { startRun } from '../temporal/runs';
import { loadManifest } from '../config/load-manifest';
import type { Datastore, Manifest } from '../model/manifest';
import { progressQuery } from '../workflows';
import { rejectSignal } from '../workflows/approval';
import type { RestoreInput } from '../workflows/types';
import * as stores from './support/stores';
import { activityTimes, runToEnd, startWorker, testClient, uniqueQueue, waitFor } from './support/temporal';

const RATE = 4 * 1024 * 1024; // bytes per second per stream

let client: Client;
let queue: string;
let worker: { stop(): Promise<void> };
let dir: string;
let manifest: Manifest;

/**
 *   db ─┬─> api ──> web (stateless)
 * cache ┘
 *   db ──> jobs
 *   docs (independent)
 */
beforeAll(async () => {
  client = await testClient();
  queue = uniqueQueue('workflows');
  worker = await startWorker(queue, { rateLimit: RATE });
  dir = stores.tempDir();
  await stores.directoryWithFiles(path.join(dir, 'db'), 8, 256 * 1024);
  await stores.directoryWithFiles(path.join(dir, 'docs'), 8, 256 * 1024);
  await stores.directoryWithFiles(path.join(dir, 'api'), 4, 256 * 1024);
  stores.sqliteWithRows(path.join(dir, 'cache.db'), 2000);
  stores.sqliteWithRows(path.join(dir, 'jobs.db'), 2000);
  process.env.LZ_TEST_PG_PASSWORD = 'sup3r-s3cret-value';
  await stores.postgresWithRows('lz_wf_ledger', 500);
  const file = await stores.writeManifest(dir, {
    app: 'wftest',
    services: {
      db: { datastore: { kind: 'directory', path: 'db' } },
      cache: { datastore: { kind: 'sqlite', path: 'cache.db' } },
      api: { depends_on: ['db', 'cache'], datastore: { kind: 'directory', path: 'api' } },
      jobs: { depends_on: ['db'], datastore: { kind: 'sqlite', path: 'jobs.db' } },
      web: { depends_on: ['api'] },
      docs: { datastore: { kind: 'directory', path: 'docs' } },
      ledger: {
        datastore: { kind: 'postgres', database: 'lz_wf_ledger', password: { env: 'LZ_TEST_PG_PASSWORD' } },
      },
    },
  });
  manifest = loadManifest(file);
});

afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
});

const storeOf = (service: string) => manifest.services[service].datastore as Datastore;
const backup = (concurrency = 4) =>
  runToEnd(client, queue, {
    operation: 'backup',
    input: { spec: appSpec(manifest), options: { concurrency } },
  });

const fingerprints = () => fingerprintServices(manifest.services);
/** A regular file that is no service's store. */
const aFile = async () => {
  const file = path.join(dir, 'not-a-directory');
  await fs.writeFile(file, 'x');
  return file;
};

test('backup snapshots every datastore, verifies it, and records one catalog entry', async () => {
  const result = await backup();
  expect(result.outcome).toBe('succeeded');
  expect(result.services.web).toEqual({ status: 'stateless' });
  for (const name of ['db', 'cache', 'api', 'jobs', 'docs', 'ledger']) {
    expect(result.services[name]).toMatchObject({
      status: 'succeeded',
      snapshot: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
  }
  const { Repository } = await import('../repository/repository');
  const entries = await (await Repository.open(manifest.repository)).listBackups('wftest');
  const entry = entries.find((e) => e.id === result.backupId);
  expect(entry?.status).toBe('complete');
  expect(Object.keys(entry?.services ?? {}).sort()).toEqual(['api', 'cache', 'db', 'docs', 'jobs', 'ledger']);
  expect(Object.values(entry!.services).every((s) => s.verified)).toBe(true);
});

test('the concurrency limit bounds how many snapshots run at once', async () => {
  const maxOverlap = async (concurrency: number) => {
    const { workflowId } = await backup(concurrency);
    const steps = [...(await activityTimes(client.workflow.getHandle(workflowId))).values()].filter((a) =>
      a.id.startsWith('snapshot/'),
    );
    // The most steps running at any step's start.
    return Math.max(
      ...steps.map((s) => steps.filter((o) => o.started! <= s.started! && o.completed! > s.started!).length),
    );
  };
  expect(await maxOverlap(1)).toBe(1);
  const wide = await maxOverlap(3);
  expect(wide).toBeGreaterThan(1);
  expect(wide).toBeLessThanOrEqual(3);
});

test('restore runs dependencies first (read from history) and independent branches in parallel', async () => {
  const original = await fingerprints();
  await backup();
  // Break everything.
  for (const name of ['db', 'docs', 'api']) await fs.rm(path.join(dir, name), { recursive: true });
  await fs.writeFile(path.join(dir, 'cache.db'), 'garbage');
  await fs.rm(path.join(dir, 'jobs.db'));
  await stores.postgresQuery('lz_wf_ledger', 'DELETE FROM accounts WHERE id > 10');

  const result = await runToEnd(client, queue, {
    operation: 'restore',
    input: { approved: true, spec: appSpec(manifest) },
  });
  expect(result.outcome).toBe('succeeded');
  expect(await fingerprints()).toEqual(original);

  const times = await activityTimes(client.workflow.getHandle(result.workflowId));
  const edges: [string, string][] = [
    ['db', 'api'],
    ['cache', 'api'],
    ['db', 'jobs'],
  ];
  for (const [dep, service] of edges) {
    const depDone = times.get(`restore/${dep}`)!.completed!;
    expect(times.get(`restore/${service}`)!.scheduled).toBeGreaterThanOrEqual(depDone);
  }
  // db and docs are independent: their restores overlapped in time.
  const [db, docs] = [times.get('restore/db')!, times.get('restore/docs')!];
  expect(Math.max(db.started!, docs.started!)).toBeLessThan(Math.min(db.completed!, docs.completed!));
});

test('a subset restore touches only the chosen services; --with-dependencies adds what they need', async () => {
  const { backupId } = await backup();
  await stores.directoryWithFiles(path.join(dir, 'api'), 1, 10); // change api
  await stores.directoryWithFiles(path.join(dir, 'db'), 1, 10); // change db
  const changed = await fingerprints();

  const only = await runToEnd(client, queue, {
    operation: 'restore',
    input: { approved: true, spec: appSpec(manifest), backupId, services: ['api'] },
  });
  expect(Object.keys(only.services)).toEqual(['api']);
  const afterOnly = await fingerprints();
  expect(afterOnly.api).not.toBe(changed.api);
  for (const other of ['db', 'cache', 'jobs', 'docs', 'ledger'])
    expect(afterOnly[other]).toBe(changed[other]);

  const withDeps = await runToEnd(client, queue, {
    operation: 'restore',
    input: { approved: true, spec: appSpec(manifest), backupId, services: ['web'], withDependencies: true },
  });
  expect(Object.keys(withDeps.services).sort()).toEqual(['api', 'cache', 'db', 'web']);
  const afterDeps = await fingerprints();
  expect(afterDeps.db).not.toBe(changed.db);
  expect(afterDeps.docs).toBe(changed.docs);
});

test('an empty service list is refused, never taken for every service', async () => {
  const before = await fingerprints();
  const run = runToEnd(client, queue, {
    operation: 'restore',
    input: { approved: true, spec: appSpec(manifest), services: [] },
  });
  await expect(run).rejects.toThrow(WorkflowFailedError);
  await expect(run.catch((e: WorkflowFailedError) => Promise.reject(e.cause))).rejects.toThrow(
    'services: the list names no service; leave it out for all',
  );
  expect(await fingerprints()).toEqual(before);
});

test('a target mapping restores into another path and database, leaving the originals alone', async () => {
  const { backupId } = await backup();
  const before = await fingerprints();
  const copyDir = path.join(dir, 'db-copy');
  // A target must not hold data yet: one of its own per run.
  const copyDb = `lz_wf_ledger_copy_${process.pid}`;
  const result = await runToEnd(client, queue, {
    operation: 'restore',
    input: {
      approved: true,
      spec: appSpec(manifest),
      backupId,
      services: ['db', 'ledger'],
      targets: { db: copyDir, ledger: copyDb },
    },
  });
  expect(result.services.db.restoredTo).toBe(copyDir);
  expect(await stores.fingerprint({ kind: 'directory', path: copyDir })).toBe(before.db);
  const copy = { ...storeOf('ledger'), database: copyDb } as Datastore;
  expect(await stores.fingerprint(copy)).toBe(before.ledger);
  expect(await fingerprints()).toEqual(before);
  await adapterFor(copy).drop(copy);
});

test('the workflow checks targets itself: a relative or production one is refused; a target restore waits for approval', async () => {
  const { backupId } = await backup();
  const restore = (targets: Record<string, string>, approved: boolean) =>
    startRun(client, queue, {
      operation: 'restore',
      input: { approved, spec: appSpec(manifest), backupId, services: ['db'], targets },
    });
  // A worker would resolve a relative path against its own directory: never guessed at.
  const relative = await restore({ db: 'db-copy' }, true);
  await expect(relative.result).rejects.toThrow(WorkflowFailedError);
  await expect(relative.result.catch((e: WorkflowFailedError) => Promise.reject(e.cause))).rejects.toThrow(
    'unsafe --target: db=db-copy: write an absolute path without ".", ".." or "//"',
  );
  const own = await restore({ db: path.join(dir, 'db', 'inside') }, true);
  await expect(own.result.catch((e: WorkflowFailedError) => Promise.reject(e.cause))).rejects.toThrow(
    "is db's own data",
  );

  const copy = path.join(dir, 'db-awaiting-approval');
  const waiting = await restore({ db: copy }, false);
  const handle = client.workflow.getHandle(waiting.workflowId);
  await waitFor(async () => (await handle.query(progressQuery)).awaitingApproval === true);
  await handle.signal(rejectSignal, { by: 'test', reason: 'only checking' });
  expect((await waiting.result).outcome).toBe('rejected');
  expect(existsSync(copy)).toBe(false);
});

/** A restore whose cache goes to a path below a regular file, which can never be created (ENOTDIR). */
async function restoreCacheBelowAFile(input: Partial<RestoreInput>) {
  const { backupId } = await backup();
  return runToEnd(client, queue, {
    operation: 'restore',
    input: {
      approved: true,
      spec: appSpec(manifest),
      backupId,
      targets: { cache: path.join(await aFile(), 'cache.db') },
      ...input,
    },
  });
}

test('a failing service is retried, then skips its dependents while independent branches finish', async () => {
  const result = await restoreCacheBelowAFile({ options: { maxAttempts: 2 } });
  expect(result.outcome).toBe('partial');
  expect(result.services.cache).toMatchObject({
    status: 'failed',
    reason: expect.stringMatching(/ENOTDIR/),
  });
  expect(result.services.api).toEqual({ status: 'skipped', reason: 'dependency cache did not complete' });
  expect(result.services.web).toEqual({ status: 'skipped', reason: 'dependency api did not complete' });
  for (const ok of ['db', 'jobs', 'docs', 'ledger']) expect(result.services[ok].status).toBe('succeeded');
  const history = await client.workflow.getHandle(result.workflowId).fetchHistory();
  const cacheAttempts = history.events!.filter(
    (e) => e.activityTaskStartedEventAttributes && e.activityTaskStartedEventAttributes.attempt === 2,
  );
  expect(cacheAttempts.length).toBe(1);
});

test('every activity of a backup and a restore heartbeats: a worker lost in any of them costs seconds', async () => {
  const b = await backup();
  const r = await runToEnd(client, queue, {
    operation: 'restore',
    input: { approved: true, spec: appSpec(manifest), services: ['ledger'] },
  });
  for (const id of [b.workflowId, r.workflowId]) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    const scheduled = history.events!.flatMap((e) => e.activityTaskScheduledEventAttributes ?? []);
    expect(scheduled.map((a) => a.activityType?.name)).toEqual(
      expect.arrayContaining(
        id === b.workflowId ? ['lockRepository', 'saveBackup', 'unlockRepository'] : ['resolveBackup'],
      ),
    );
    for (const activity of scheduled) {
      const seconds = Number(activity.heartbeatTimeout?.seconds ?? 0);
      expect([activity.activityType?.name, seconds > 0 && seconds <= 30]).toEqual([
        activity.activityType?.name,
        true,
      ]);
    }
  }
});

test('a failure that is not an outage stops after 3 attempts, whatever the outage budget', async () => {
  const result = await restoreCacheBelowAFile({ services: ['cache'] }); // default budget: 10
  expect(result.services.cache.status).toBe('failed');
  const history = await client.workflow.getHandle(result.workflowId).fetchHistory();
  const attempts = history.events!.flatMap((e) => e.activityTaskStartedEventAttributes?.attempt ?? []);
  expect(Math.max(...attempts)).toBe(3);
});

test('connection secrets never appear in a workflow history', async () => {
  const b = await backup();
  const r = await runToEnd(client, queue, {
    operation: 'restore',
    input: { approved: true, spec: appSpec(manifest), services: ['ledger'] },
  });
  expect(r.outcome).toBe('succeeded');
  for (const id of [b.workflowId, r.workflowId]) {
    const history = JSON.stringify(await client.workflow.getHandle(id).fetchHistory());
    const decoded = Buffer.from(history).toString('utf8');
    expect(decoded).not.toContain('sup3r-s3cret-value');
    expect(Buffer.from(history.match(/"data":"([^"]+)"/g)?.join('') ?? '').toString()).not.toContain('sup3r');
    const payloads = [...history.matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)].map((m) =>
      Buffer.from(m[1], 'base64').toString('utf8'),
    );
    expect(payloads.join('\n')).toContain('LZ_TEST_PG_PASSWORD');
    expect(payloads.join('\n')).not.toContain('sup3r-s3cret-value');
  }
});

test('progress is queryable, and a cancelled restore ends cancelled with the target untouched and no staging left', async () => {
  const bigDir = path.join(dir, 'big');
  await stores.directoryWithFiles(bigDir, 24, 1024 * 1024); // 24 MiB: about 6 s at the rate limit
  const spec = {
    ...appSpec(manifest),
    services: {
      big: {
        tier: 'standard' as const,
        depends_on: [],
        datastore: { kind: 'directory' as const, path: bigDir },
      },
    },
  };
  const b = await runToEnd(client, queue, { operation: 'backup', input: { spec } });
  await fs.rm(path.join(bigDir, 'part-0'), { recursive: true });
  const damaged = await stores.fingerprint({ kind: 'directory', path: bigDir });

  const run = await startRun(client, queue, {
    operation: 'restore',
    input: { approved: true, spec, backupId: b.backupId, options: { heartbeatTimeoutSeconds: 5 } },
  });
  const handle = client.workflow.getHandle(run.workflowId);
  await waitFor(async () => (await handle.query(progressQuery)).running.includes('big'));
  expect(await handle.query(progressQuery)).toMatchObject({ total: 1, done: 0, running: ['big'] });
  await handle.cancel();
  await expect(run.result).rejects.toBeInstanceOf(WorkflowFailedError);
  expect((await handle.describe()).status.name).toBe('CANCELLED');
  expect(await stores.fingerprint({ kind: 'directory', path: bigDir })).toBe(damaged);
  expect((await fs.readdir(dir)).filter((f) => f.includes('.lazarus-'))).toEqual([]);
});

test('a restore the datastore must refuse fails at once, without retries', async () => {
  await stores.mariadbWithRows('lz_wf_refused', 20);
  await stores.mariadbQuery('CREATE VIEW lz_wf_refused.v AS SELECT id FROM lz_wf_refused.stock');
  const spec = {
    ...appSpec(manifest),
    services: {
      shop: {
        tier: 'standard' as const,
        depends_on: [],
        datastore: {
          kind: 'mariadb' as const,
          host: '127.0.0.1',
          port: 3306,
          user: 'root',
          database: 'lz_wf_refused',
        },
      },
    },
  };
  const b = await runToEnd(client, queue, { operation: 'backup', input: { spec } });
  const r = await runToEnd(client, queue, {
    operation: 'restore',
    input: { approved: true, spec, backupId: b.backupId },
  });
  expect(r.services.shop).toMatchObject({
    status: 'failed',
    reason: expect.stringContaining('holds view v'),
  });
  const history = await client.workflow.getHandle(r.workflowId).fetchHistory();
  const attempts = history
    .events!.filter((e) => e.activityTaskStartedEventAttributes)
    .map((e) => e.activityTaskStartedEventAttributes!.attempt);
  expect(Math.max(...attempts.map(Number))).toBe(1);
});
