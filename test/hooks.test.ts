/**
 * Hooks around steps and runs, and approval of restores over the original targets, on the
 * real dev server: order is read from the run's history, effects from the stores.
 */
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { appSpec } from '../model/app-spec';
import { startRun } from '../temporal/runs';
import { loadManifest } from '../config/load-manifest';
import { approveSignal, rejectSignal } from '../workflows/approval';
import { progressQuery } from '../workflows';
import * as stores from './support/stores';
import { activityTimes, runToEnd, startWorker, testClient, uniqueQueue, waitFor } from './support/temporal';

let client: Client;
let queue: string;
let worker: { stop(): Promise<void> };
let dir: string;
let log: string;
let server: http.Server;
const httpCalls: { path: string; body: Record<string, string> }[] = [];

beforeAll(async () => {
  client = await testClient();
  queue = uniqueQueue('hooks');
  worker = await startWorker(queue);
  dir = stores.tempDir();
  log = path.join(dir, 'hooks.log');
  stores.sqliteWithRows(path.join(dir, 'a.db'), 50);
  stores.sqliteWithRows(path.join(dir, 'b.db'), 50);
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      httpCalls.push({ path: req.url ?? '', body: JSON.parse(body || '{}') as Record<string, string> });
      res.writeHead(req.url === '/refuse' ? 503 : 200).end(req.url === '/refuse' ? 'busy' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await worker.stop();
  server.close();
});

const url = (p: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}${p}`;
/** A command hook that appends its event, service and target to the log. */
const note = (label: string) => ({
  command: `echo "${label} $LAZARUS_EVENT \${LAZARUS_SERVICE:-app} \${LAZARUS_TARGET:-}" >> ${log}`,
});

async function manifestWith(services: Record<string, unknown>, hooks?: Record<string, unknown>) {
  await fs.rm(log, { force: true });
  httpCalls.length = 0;
  const file = await stores.writeManifest(dir, { app: 'hooktest', hooks, services });
  return loadManifest(file);
}

const logLines = async () =>
  (await fs.readFile(log, 'utf8').catch(() => ''))
    .trim()
    .split('\n')
    .map((line) => line.trimEnd());

test('hooks run in order around each service and the whole run, as the history shows', async () => {
  const manifest = await manifestWith(
    {
      a: {
        datastore: { kind: 'sqlite', path: 'a.db' },
        hooks: { pre_backup: note('cmd'), post_backup: { http: { url: url('/a-done') } } },
      },
    },
    { before_backup: note('cmd'), after_backup: note('cmd') },
  );
  const result = await runToEnd(client, queue, { operation: 'backup', input: { spec: appSpec(manifest) } });
  expect(result.outcome).toBe('succeeded');
  expect(await logLines()).toEqual(['cmd before_backup app', 'cmd pre_backup a', 'cmd after_backup app']);
  expect(httpCalls).toEqual([
    {
      path: '/a-done',
      body: expect.objectContaining({
        event: 'post_backup',
        service: 'a',
        app: 'hooktest',
        backupId: result.backupId,
      }),
    },
  ]);

  const times = await activityTimes(client.workflow.getHandle(result.workflowId));
  const order = [...times.values()].sort((x, y) => x.scheduled - y.scheduled).map((t) => t.id);
  expect(order.filter((id) => id !== 'saveBackup' && !/^\d+$/.test(id))).toEqual([
    'hook/before_backup',
    'hook/pre_backup/a',
    'snapshot/a',
    'hook/post_backup/a',
    'hook/after_backup',
  ]);
  expect(result.hooks?.map((h) => h.event)).toEqual(['before_backup', 'after_backup']);
});

test('a failing pre_backup hook fails its service unless on_error is continue; post_backup still runs', async () => {
  const manifest = await manifestWith({
    a: {
      datastore: { kind: 'sqlite', path: 'a.db' },
      hooks: { pre_backup: { command: 'echo cannot quiesce >&2; exit 3' }, post_backup: note('cmd') },
    },
    b: {
      datastore: { kind: 'sqlite', path: 'b.db' },
      hooks: { pre_backup: { http: { url: url('/refuse') }, on_error: 'continue' } },
    },
  });
  const result = await runToEnd(client, queue, { operation: 'backup', input: { spec: appSpec(manifest) } });
  expect(result.outcome).toBe('partial');
  expect(result.services.a).toMatchObject({
    status: 'failed',
    reason: 'pre_backup hook failed: exited with code 3: cannot quiesce',
  });
  expect(result.services.b.status).toBe('succeeded');
  expect(result.services.b.hooks).toEqual([
    expect.objectContaining({
      event: 'pre_backup',
      ok: false,
      detail: 'HTTP 503: busy',
      onError: 'continue',
    }),
  ]);
  expect(await logLines()).toEqual(['cmd post_backup a']);
  const times = await activityTimes(client.workflow.getHandle(result.workflowId));
  expect(times.has('snapshot/a')).toBe(false);
});

test('a blocking before_backup hook fails the run before any snapshot; a slow hook times out', async () => {
  const manifest = await manifestWith(
    { a: { datastore: { kind: 'sqlite', path: 'a.db' } } },
    { before_backup: { command: 'sleep 5', timeout: '500ms' }, after_backup: note('cmd') },
  );
  const result = await runToEnd(client, queue, { operation: 'backup', input: { spec: appSpec(manifest) } });
  expect(result.outcome).toBe('failed');
  expect(result.reason).toMatch(/^before_backup hook failed: timed out after 500 ms/);
  expect(result.services.a.status).toBe('failed');
  expect(await logLines()).toEqual(['cmd after_backup app']);
  const times = await activityTimes(client.workflow.getHandle(result.workflowId));
  expect(times.has('snapshot/a')).toBe(false);
});

test('post_restore runs after the restore, told the target it restored into', async () => {
  const manifest = await manifestWith({
    a: { datastore: { kind: 'sqlite', path: 'a.db' }, hooks: { post_restore: note('cmd') } },
  });
  const { backupId } = await runToEnd(client, queue, {
    operation: 'backup',
    input: { spec: appSpec(manifest) },
  });
  const copy = path.join(dir, 'a-copy.db');
  const result = await runToEnd(client, queue, {
    operation: 'restore',
    input: { approved: true, spec: appSpec(manifest), backupId, targets: { a: copy } },
  });
  expect(result.outcome).toBe('succeeded');
  expect(await logLines()).toEqual([`cmd post_restore a ${copy}`]);
});

describe('a restore over the original targets waits for approval', () => {
  const changeA = () => stores.sqliteWithRows(path.join(dir, 'a.db'), 5, 'changed');

  async function restoreAwaitingApproval(approvalTimeoutSeconds = 600) {
    const manifest = await manifestWith({ a: { datastore: { kind: 'sqlite', path: 'a.db' } } });
    const { backupId } = await runToEnd(client, queue, {
      operation: 'backup',
      input: { spec: appSpec(manifest) },
    });
    await fs.rm(path.join(dir, 'a.db'));
    changeA();
    const changed = await stores.fingerprint(manifest.services.a.datastore!);
    const run = await startRun(client, queue, {
      operation: 'restore',
      input: { spec: appSpec(manifest), backupId, approvalTimeoutSeconds },
    });
    const handle = client.workflow.getHandle(run.workflowId);
    await waitFor(async () => (await handle.query(progressQuery)).awaitingApproval === true);
    return { manifest, run, handle, changed };
  }

  test('approved: it restores', async () => {
    const { manifest, run, handle, changed } = await restoreAwaitingApproval();
    // Waiting, it has not touched the target.
    expect(await stores.fingerprint(manifest.services.a.datastore!)).toBe(changed);
    await handle.signal(approveSignal, { by: 'alice' });
    const result = await run.result;
    expect(result.outcome).toBe('succeeded');
    expect(await stores.fingerprint(manifest.services.a.datastore!)).not.toBe(changed);
  });

  test('rejected, or not approved in time: it stops having changed nothing', async () => {
    const first = await restoreAwaitingApproval();
    await first.handle.signal(rejectSignal, { by: 'bob', reason: 'wrong backup' });
    expect(await first.run.result).toMatchObject({
      outcome: 'rejected',
      reason: 'rejected by bob: wrong backup; nothing was changed',
    });
    expect(await stores.fingerprint(first.manifest.services.a.datastore!)).toBe(first.changed);

    const second = await restoreAwaitingApproval(2);
    expect(await second.run.result).toMatchObject({
      outcome: 'rejected',
      reason: 'no approval within 2 s; nothing was changed',
    });
    expect(await stores.fingerprint(second.manifest.services.a.datastore!)).toBe(second.changed);
    const times = await activityTimes(second.handle);
    expect([...times.keys()].some((id) => id.startsWith('restore/'))).toBe(false);
  });
});
