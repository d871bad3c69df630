/**
 * Faults a user met on real servers, made again with toxiproxy between Lazarus and
 * PostgreSQL or S3 (versitygw): a dump tool that fails before anyone reads, a repository
 * that resets mid-backup, a connection that stalls, a minute of S3 outage. Each test names
 * the defect it guards.
 */
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import { appSpec } from '../model/app-spec';
import { startRun } from '../temporal/runs';
import { adapterFor } from '../datastores/adapters';
import { loadManifest } from '../config/load-manifest';
import type { Datastore } from '../model/manifest';
import { S3Backend } from '../repository/storage/s3';
import { type S3Server, startS3Server } from '../tools/s3-server';
import { freePort } from '../tools/local-server';
import * as stores from './support/stores';
import { startWorker, testClient, uniqueQueue, waitFor } from './support/temporal';
import { waitForStepInProgress } from './support/worker-process';
import { type Proxy, type Toxiproxy, startToxiproxy } from './support/toxiproxy';

const DB = 'lz_faults_ledger';
/** Retries cut short, so that a test sees a step give up in seconds. */
const quickRetries = { retryForMs: 2_000, baseDelayMs: 100, maxDelayMs: 500, concurrency: 8 };

let client: Client;
let toxiproxy: Toxiproxy;
let s3: S3Server;
let s3Proxy: Proxy;
let pgProxy: Proxy;

beforeAll(async () => {
  client = await testClient();
  s3 = await startS3Server(path.join(stores.tempDir(), 's3'), ['faults']);
  process.env.AWS_ACCESS_KEY_ID = s3.accessKey;
  process.env.AWS_SECRET_ACCESS_KEY = s3.secretKey;
  toxiproxy = await startToxiproxy();
  s3Proxy = await toxiproxy.proxy('s3', Number(new URL(s3.endpoint).port));
  pgProxy = await toxiproxy.proxy('postgres', 5432);
  // About 100 MB of dump: pg_dump is still writing when a fault arrives.
  await stores.postgresWithRows(DB, 1_000_000);
}, 600_000);

afterAll(async () => {
  await client?.connection.close();
  await toxiproxy?.stop();
  await s3?.stop();
});

/** An application of one PostgreSQL service, reached through `port`, backed up to S3 through the proxy. */
async function ledgerApp(app: string, port: number) {
  const dir = stores.tempDir();
  return loadManifest(
    await stores.writeManifest(dir, {
      app,
      repository: {
        s3: `s3://faults/${app}`,
        endpoint: `http://127.0.0.1:${s3Proxy.port}`,
      },
      services: { ledger: { datastore: { kind: 'postgres', database: DB, port } } },
    }),
  );
}

async function dumpSessions(): Promise<number> {
  const pg = new PgClient({ host: '127.0.0.1', user: 'postgres', database: 'postgres' });
  await pg.connect();
  try {
    const { rows } = await pg.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'pg_dump'",
      [DB],
    );
    return rows[0].n as number;
  } finally {
    await pg.end();
  }
}

const drain = () =>
  new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });

test('defect 1: a dump tool that fails before anyone reads its stream fails the step, not the worker', async () => {
  const refused: Datastore = {
    ...(loadManifest(
      await stores.writeManifest(stores.tempDir(), {
        app: 'refused',
        services: { ledger: { datastore: { kind: 'postgres', database: DB, port: await freePort() } } },
      }),
    ).services.ledger.datastore as Datastore),
  };
  const stream = await adapterFor(refused).snapshot(refused, {
    stagingId: 'faults',
    signal: new AbortController().signal,
  });
  // pg_dump is refused at once; before the fix its error reached the process unhandled.
  await new Promise((r) => setTimeout(r, 1500));
  await expect(pipeline(stream, drain())).rejects.toThrow(/pg_dump exited with code 1: .*refused/s);
});

test('defect 1 and 10: backups against a refused database fail with its address, and the worker lives on', async () => {
  await pgProxy.setEnabled(false);
  const queue = uniqueQueue('faults-refused');
  const worker = await startWorker(queue);
  try {
    const manifest = await ledgerApp('refused', pgProxy.port);
    const runs = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const spec = { ...appSpec(manifest), app: `refused${i}` };
        const run = await startRun(client, queue, {
          operation: 'backup',
          input: { spec, options: { maxAttempts: 1 } },
        });
        return run.result;
      }),
    );
    for (const result of runs) {
      expect(result.outcome).toBe('failed');
      expect(result.services.ledger.reason).toContain(
        `ledger (postgres://postgres@127.0.0.1:${pgProxy.port}/${DB})`,
      );
    }
  } finally {
    await worker.stop();
    await pgProxy.setEnabled(true);
  }
});

test('defect 2 and 10: when S3 resets as the snapshot starts, pg_dump is stopped and the error names the repository', async () => {
  const queue = uniqueQueue('faults-reset');
  const worker = await startWorker(queue, { repository: { resilience: quickRetries } });
  const manifest = await ledgerApp('reset', 5432);
  // The hook runs just before the snapshot step: S3 resets from the step's first request
  // (renewing the repository lock), by which time pg_dump is already running.
  const resetToxic = { name: 'reset-s3', type: 'reset_peer', stream: 'upstream', attributes: { timeout: 0 } };
  manifest.services.ledger.hooks = {
    pre_backup: {
      command: `curl -sf -X POST -H 'content-type: application/json' -d '${JSON.stringify(resetToxic)}' ${toxiproxy.apiUrl}/proxies/s3/toxics`,
      timeout: 10_000,
      on_error: 'fail',
    },
  };
  const removeToxic = () => fetch(`${toxiproxy.apiUrl}/proxies/s3/toxics/reset-s3`, { method: 'DELETE' });
  try {
    const run = await startRun(client, queue, {
      operation: 'backup',
      input: { spec: appSpec(manifest), options: { maxAttempts: 1 } },
    });
    const handle = client.workflow.getHandle(run.workflowId);
    await waitFor(async () =>
      ((await handle.fetchHistory()).events ?? []).some((e) => e.activityTaskFailedEventAttributes),
    );
    await new Promise((r) => setTimeout(r, 1000));
    // Before the fix, pg_dump stayed blocked on its full pipe, its transaction and locks held.
    expect(await dumpSessions()).toBe(0);
    await removeToxic(); // lets the run's unlock through
    const result = await run.result;
    expect(result.outcome).toBe('failed');
    expect(result.services.ledger.reason).toMatch(
      /^repository s3:\/\/faults\/reset: \w+ locks\/\S+ failed: /,
    );
  } finally {
    await removeToxic();
    await worker.stop();
  }
});

test('defect 3: a stalled database connection fails its attempt within the stall timeout, naming the store', async () => {
  const queue = uniqueQueue('faults-stall');
  const worker = await startWorker(queue, { stallTimeoutMs: 3_000 });
  const manifest = await ledgerApp('stall', pgProxy.port);
  let removeToxic: (() => Promise<void>) | undefined;
  try {
    const run = await startRun(client, queue, {
      operation: 'backup',
      input: { spec: appSpec(manifest), options: { maxAttempts: 1 } },
    });
    await waitFor(async () => (await dumpSessions()) > 0);
    // Data dropped, connection kept open: a half-open link, as a failed-over address gives.
    removeToxic = await pgProxy.toxic({ type: 'timeout', attributes: { timeout: 0 } });
    const result = await run.result;
    expect(result.outcome).toBe('failed');
    expect(result.services.ledger.reason).toMatch(
      new RegExp(
        `ledger \\(postgres://postgres@127.0.0.1:${pgProxy.port}/${DB}\\): no data for 3 s: the connection stalled`,
      ),
    );
  } finally {
    await removeToxic?.();
    await worker.stop();
  }
});

test('defect 3: a stalled S3 request fails after its idle timeout instead of hanging', async () => {
  const backend = new S3Backend({
    bucket: 'faults',
    prefix: 'stalled',
    endpoint: `http://127.0.0.1:${s3Proxy.port}`,
    idleTimeoutMs: 2_000,
  });
  await backend.put('before', Buffer.from('reachable'));
  const removeToxic = await s3Proxy.toxic({ type: 'timeout', attributes: { timeout: 0 } });
  try {
    const started = Date.now();
    await expect(backend.read('before')).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(15_000);
  } finally {
    await removeToxic();
  }
});

test('defect 10: a backup rides out a minute of S3 outage in the middle of its snapshot', async () => {
  const queue = uniqueQueue('faults-outage');
  // 1 MiB/s: the 8 MiB snapshot is still streaming when S3 goes away.
  const worker = await startWorker(queue, { rateLimit: 1 << 20 });
  const dir = stores.tempDir();
  await stores.directoryWithFiles(path.join(dir, 'files'), 8, 1 << 20);
  const manifest = loadManifest(
    await stores.writeManifest(dir, {
      app: 'outage',
      repository: { s3: 's3://faults/outage', endpoint: `http://127.0.0.1:${s3Proxy.port}` },
      services: { files: { datastore: { kind: 'directory', path: 'files' } } },
    }),
  );
  try {
    const run = await startRun(client, queue, { operation: 'backup', input: { spec: appSpec(manifest) } });
    await waitForStepInProgress(client.workflow.getHandle(run.workflowId));
    await s3Proxy.setEnabled(false);
    await new Promise((r) => setTimeout(r, 60_000));
    await s3Proxy.setEnabled(true);
    const result = await run.result;
    expect(result.outcome).toBe('succeeded');
    expect(result.services.files.status).toBe('succeeded');
  } finally {
    await s3Proxy.setEnabled(true);
    await worker.stop();
  }
}, 300_000);
