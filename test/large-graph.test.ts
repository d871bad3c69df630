/**
 * A 500-service application: too big for one comfortable history, so the run is split
 * into child workflows; every service is backed up, then restored in dependency order.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { appSpec } from '../model/app-spec';
import { loadManifest } from '../config/load-manifest';
import * as stores from './support/stores';
import { runToEnd, startWorker, testClient, uniqueQueue } from './support/temporal';

const SERVICES = 500;

let client: Client;
let worker: { stop(): Promise<void> };
let queue: string;

beforeAll(async () => {
  client = await testClient();
  queue = uniqueQueue('large');
  worker = await startWorker(queue);
});

afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
});

/** A layered random DAG (deterministic): service i depends on up to two earlier services. */
function dependencies(i: number): string[] {
  if (i < 20) return [];
  const a = (i * 7919) % i;
  const b = (i * 104729) % i;
  return [...new Set([a, b])].map((n) => `svc-${n}`);
}

test('a 500-service graph is backed up and restored in order through child workflows', async () => {
  const dir = stores.tempDir();
  const services: Record<string, unknown> = {};
  for (let i = 0; i < SERVICES; i++) {
    await fs.mkdir(path.join(dir, 'data', `svc-${i}`), { recursive: true });
    await fs.writeFile(path.join(dir, 'data', `svc-${i}`, 'state.json'), JSON.stringify({ service: i }));
    services[`svc-${i}`] = {
      depends_on: dependencies(i),
      datastore: { kind: 'directory', path: `data/svc-${i}` },
    };
  }
  const manifest = loadManifest(await stores.writeManifest(dir, { app: 'large', services }));
  const options = { concurrency: 8, partitionSize: 100 };

  const backup = await runToEnd(client, queue, {
    operation: 'backup',
    input: { spec: appSpec(manifest), options },
  });
  expect(backup.outcome).toBe('succeeded');
  expect(Object.values(backup.services).filter((s) => s.status === 'succeeded').length).toBe(SERVICES);
  await expectSplitIntoChildren(backup.workflowId, 5);

  await fs.rm(path.join(dir, 'data'), { recursive: true });
  const restore = await runToEnd(client, queue, {
    operation: 'restore',
    input: { approved: true, spec: appSpec(manifest), options },
  });
  expect(restore.outcome).toBe('succeeded');
  expect(Object.values(restore.services).filter((s) => s.status === 'succeeded').length).toBe(SERVICES);
  await expectSplitIntoChildren(restore.workflowId, 5);

  // Dependencies first: no service started before every one of its dependencies finished.
  for (let i = 0; i < SERVICES; i++) {
    const own = restore.services[`svc-${i}`];
    for (const dep of dependencies(i)) {
      expect(Date.parse(own.startedAt!)).toBeGreaterThanOrEqual(
        Date.parse(restore.services[dep].finishedAt!),
      );
    }
  }
  expect(JSON.parse(await fs.readFile(path.join(dir, 'data', 'svc-499', 'state.json'), 'utf8'))).toEqual({
    service: 499,
  });
}, 600_000);

async function expectSplitIntoChildren(workflowId: string, atLeast: number): Promise<void> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const children = history.events!.filter(
    (e) => e.startChildWorkflowExecutionInitiatedEventAttributes,
  ).length;
  expect(children).toBeGreaterThanOrEqual(atLeast);
  expect(history.events!.length).toBeLessThan(500); // the parent's own history stays small
}
