/**
 * `npm run histories:record [dir]`: runs every workflow type for real (a dev server, a
 * worker, SQLite and directory stores) and writes each run's history as JSON, the format
 * the Web UI and the Temporal CLI export. test/replay.test.ts replays the stored ones
 * against the current workflow code, so a change that would break runs in flight fails CI.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Client } from '@temporalio/client';
import { stringify } from 'yaml';
import Database from 'better-sqlite3';
import { loadManifest } from '../config/load-manifest';
import type { Manifest } from '../model/manifest';
import { type RunRequest, startRun } from '../temporal/runs';
import { appSpec } from '../model/app-spec';
import { ensureTemporalCli, findTemporalCli } from '../temporal/cli-binary';
import { startDevServer } from '../temporal/dev-server';
import { settingsFromEnv } from '../temporal/settings';
import { createWorker, installQuietRuntime } from '../worker/create-worker';
import { startMemcached } from './memcached-server';
import { freePort } from './local-server';
import Redis from 'ioredis';
import { captureWorkflowId, checkpointsWorkflowId, functionsWatchWorkflowId } from '../contracts/ids';
import { packageRoot } from '../config/package-root';
import { deployProject } from '../client/function-deploy';
import { httpCall } from '../functions/http-call';
import { stopHost } from '../functions/workerd/host-client';
import { hostPaths } from '../functions/workerd/layout';
import { Repository } from '../repository/repository';
import { stopWatchingSignal, watchStatusQuery } from '../workflows/function-runs';
import { capturedServices } from '../model/captured';
import { startRedisSource } from './redis-source';

const log = (message: string) => console.error(message);

async function main(): Promise<void> {
  const outDir = path.resolve(
    process.argv[2] ?? path.join(__dirname, '..', '..', 'test', 'fixtures', 'histories'),
  );
  installQuietRuntime();
  const server = await startDevServer({ log });
  await ensureTemporalCli(log);
  const cli = findTemporalCli();
  if (!cli) throw new Error('recording needs the Temporal CLI: npm run temporal:cli');
  const settings = settingsFromEnv({ address: server.address, taskQueue: 'record-histories' });
  const worker = await createWorker(server.nativeConnection, settings);
  const running = worker.run();
  // A cache in front of users: the restore's history holds its flush (issue 13).
  const memcached = await startMemcached();
  try {
    const client = server.client;
    const manifest = loadManifest(writeApp(memcached.port));
    const ids = await runEveryType(client, settings.taskQueue, manifest);
    mkdirSync(outDir, { recursive: true });
    const written = new Map<string, number>();
    for (const workflowId of await withChildren(client, ids)) {
      const { type } = await client.workflow.getHandle(workflowId).describe();
      // The Temporal CLI's JSON export: the format SDK replayers and the Web UI read and write.
      const json = execFileSync(cli, [
        'workflow',
        'show',
        '-w',
        workflowId,
        '--address',
        server.address,
        '-o',
        'json',
      ]);
      // Every child of a type is kept: restorePartition.json, restorePartition-2.json...
      const n = (written.get(type) ?? 0) + 1;
      written.set(type, n);
      const file = path.join(outDir, n === 1 ? `${type}.json` : `${type}-${n}.json`);
      writeFileSync(file, json);
      log(
        `${type}: ${(JSON.parse(json.toString()) as { events: unknown[] }).events.length} events -> ${file}`,
      );
    }
  } finally {
    worker.shutdown();
    await running;
    await server.stop();
    await memcached.stop();
  }
}

/** A small application: three stores, so that a partition size of 2 splits runs into child workflows, and a cache. */
function writeApp(memcachedPort: number): string {
  const dir = path.join(os.tmpdir(), `lazarus-histories-${process.pid}`);
  mkdirSync(path.join(dir, 'files'), { recursive: true });
  writeFileSync(path.join(dir, 'files', 'a.txt'), 'history');
  for (const name of ['orders', 'users']) {
    const db = new Database(path.join(dir, `${name}.db`));
    db.exec('CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, label TEXT)');
    db.prepare('INSERT INTO items (label) VALUES (?)').run(name);
    db.close();
  }
  const file = path.join(dir, 'lazarus.yaml');
  writeFileSync(
    file,
    stringify({
      app: 'history',
      services: {
        web: { depends_on: ['orders', 'users', 'files'] },
        orders: {
          tier: 'critical',
          depends_on: ['users'],
          datastore: { kind: 'sqlite', path: 'orders.db' },
          validate: [{ row_count: { table: 'items', min: 1 } }],
        },
        users: { datastore: { kind: 'sqlite', path: 'users.db' } },
        files: { datastore: { kind: 'directory', path: 'files' } },
        'users-cache': { depends_on: ['users'], cache: { engine: 'memcached', port: memcachedPort } },
      },
    }),
  );
  return file;
}

async function runEveryType(client: Client, taskQueue: string, manifest: Manifest): Promise<string[]> {
  const spec = appSpec(manifest);
  const options = { partitionSize: 2 };
  const requests: RunRequest[] = [
    { operation: 'backup', input: { spec, options } },
    // One service beside the original: a --target restore's checks (issue 11) are in the history too.
    {
      operation: 'restore',
      input: {
        spec,
        options,
        approved: true,
        // The sandbox is .lazarus/sandbox beside the manifest.
        targets: { files: path.resolve(manifest.sandbox, '..', '..', 'files-restored') },
      },
    },
    { operation: 'drill', input: { spec } },
    { operation: 'verify', input: { spec: { app: spec.app, repository: spec.repository }, readData: true } },
    // A second backup records change rates, which the adaptive scheduler then acts on.
    { operation: 'backup', input: { spec, options } },
  ];
  const ids: string[] = [];
  for (const request of requests) {
    const run = await startRun(client, taskQueue, request);
    await run.result;
    ids.push(run.workflowId);
  }
  ids.push(await adaptiveRun(client, taskQueue, manifest));
  ids.push(...(await captureRuns(client, taskQueue)));
  ids.push(...(await functionRuns(client, taskQueue)));
  return ids;
}

/**
 * The notes Worker on workerd, bound to D1, KV and R2 (issue 15): a backup, a restore and a
 * drill with a function among the services, a code-only rollback, and the watcher, stopped
 * by its signal once it has looked.
 */
async function functionRuns(client: Client, taskQueue: string): Promise<string[]> {
  const dir = path.join(os.tmpdir(), `lazarus-histories-functions-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const example = path.join(packageRoot(), 'examples', 'notes');
  const file = path.join(dir, 'lazarus.yaml');
  const state = path.join(dir, 'workerd');
  const store = (kind: string, id: Record<string, string>) => ({ datastore: { kind, path: state, ...id } });
  writeFileSync(
    file,
    stringify({
      app: 'historyfn',
      services: {
        'notes-db': store('d1', { database_id: 'notes-db' }),
        'notes-kv': store('kv', { namespace_id: 'notes-kv' }),
        'notes-media': store('r2', { bucket: 'notes-media' }),
        notes: {
          depends_on: ['notes-db', 'notes-kv', 'notes-media'],
          function: {
            platform: 'workerd',
            wrangler: path.join(example, 'worker', 'wrangler.toml'),
            state,
            port: await freePort(),
            watch_every: '1s',
          },
        },
      },
    }),
  );
  const manifest = loadManifest(file);
  const fn = manifest.services.notes.function!;
  const spec = appSpec(manifest);
  const repo = await Repository.open(manifest.repository, { create: true });
  try {
    const v1 = await deployProject(repo, { app: spec.app, service: 'notes' }, fn);
    await httpCall(v1.endpoint!, { method: 'POST', body: 'history' });
    const ids: string[] = [];
    const requests: RunRequest[] = [
      { operation: 'backup', input: { spec } },
      { operation: 'restore', input: { spec, approved: true } },
      { operation: 'drill', input: { spec } },
      { operation: 'rollback-function', input: { spec, service: 'notes', version: v1.version } },
    ];
    for (const request of requests) {
      const run = await startRun(client, taskQueue, request);
      await run.result;
      ids.push(run.workflowId);
    }
    const everyMs = 1000;
    const watch = await client.workflow.start('watchFunctions', {
      taskQueue,
      workflowId: functionsWatchWorkflowId(spec.app),
      args: [{ spec, everyMs }],
    });
    for (let i = 0; i < 100 && (await watch.query(watchStatusQuery)).looks < 2; i++)
      await new Promise((r) => setTimeout(r, 200));
    await watch.signal(stopWatchingSignal);
    await watch.result();
    return [...ids, watch.workflowId];
  } finally {
    await repo.close();
    await stopHost(hostPaths(state));
  }
}

/**
 * Continuous capture of a throwaway Redis (issue 14): a capture with its base and a group's
 * checkpoints, both stopped by their signals, and a drill to the latest point.
 */
async function captureRuns(client: Client, taskQueue: string): Promise<string[]> {
  const source = await startRedisSource();
  try {
    const dir = path.join(os.tmpdir(), `lazarus-histories-pitr-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'lazarus.yaml');
    writeFileSync(
      file,
      stringify({
        app: 'historypitr',
        services: {
          sessions: {
            datastore: { ...source.store },
            pitr: { session: '5s' },
            validate: [{ key_count: { pattern: '*', min: 1 } }],
          },
        },
        consistency_groups: { all: { members: ['sessions'], checkpoint_every: '1s' } },
      }),
    );
    const manifest = loadManifest(file);
    const spec = { app: manifest.app, repository: manifest.repository };
    const datastore = manifest.services.sessions.datastore!;
    const policy = capturedServices(manifest)[0].policy;
    const capture = await client.workflow.start('captureStream', {
      taskQueue,
      workflowId: captureWorkflowId(spec.app, 'sessions'),
      args: [{ spec, service: 'sessions', datastore, policy }],
    });
    const checkpoints = await client.workflow.start('checkpointGroup', {
      taskQueue,
      workflowId: checkpointsWorkflowId(spec.app, 'all'),
      args: [{ spec, group: 'all', members: [{ service: 'sessions', datastore }], everyMs: 1000 }],
    });
    const writer = new Redis(source.port, '127.0.0.1');
    for (let i = 0; i < 60; i++) {
      await writer.set(`key${i}`, String(i));
      await new Promise((r) => setTimeout(r, 200));
    }
    writer.disconnect();
    await checkpoints.signal('stopCheckpoints');
    await capture.signal('stopCapture');
    await Promise.all([checkpoints.result(), capture.result()]);
    const drill = await startRun(client, taskQueue, {
      operation: 'restore-at',
      input: {
        spec,
        members: [
          {
            service: 'sessions',
            datastore,
            target: { kind: 'latest' },
            validators: manifest.services.sessions.validate,
          },
        ],
        mode: 'drill',
        asked: 'latest',
      },
    });
    await drill.result;
    return [capture.workflowId, checkpoints.workflowId, drill.workflowId];
  } finally {
    await source.remove();
  }
}

/** The adaptive scheduler over one schedule, stopped once it has made a check. */
async function adaptiveRun(client: Client, taskQueue: string, manifest: Manifest): Promise<string> {
  const scheduleId = `backup/${manifest.app}/critical`;
  await client.schedule.create({
    scheduleId,
    spec: { intervals: [{ every: '10m' }] }, // idle stores: the scheduler moves it to the 1h maximum
    action: {
      type: 'startWorkflow',
      workflowType: 'backupApplication',
      taskQueue,
      args: [{ spec: appSpec(manifest) }],
    },
    state: { paused: true },
  });
  const workflowId = `adapt/${manifest.app}`;
  const handle = await client.workflow.start('adaptSchedules', {
    taskQueue,
    workflowId,
    args: [
      {
        app: manifest.app,
        repository: manifest.repository,
        schedules: [{ scheduleId, services: ['orders'], minMs: 60_000, maxMs: 3_600_000, atRiskBytes: 1024 }],
        checkEveryMs: 500,
      },
    ],
  });
  for (let i = 0; i < 100; i++) {
    const history = await handle.fetchHistory();
    const checks = history.events?.filter((e) => e.activityTaskCompletedEventAttributes).length ?? 0;
    if (checks >= 2) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await handle.terminate('recorded');
  return workflowId;
}

/** The runs and the child workflows (partitions) they started. */
async function withChildren(client: Client, ids: string[]): Promise<string[]> {
  const all = [...ids];
  for (const id of ids) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    for (const event of history.events ?? []) {
      const child = event.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId;
      if (child) all.push(child);
    }
  }
  return all;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
