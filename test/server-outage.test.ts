/**
 * The Temporal server goes away while `lazarus backup` waits for its run (stopped for 25 s,
 * then started again on the same database file and port): the run goes on, and the CLI
 * follows it to the end and exits 0, instead of reporting a run that succeeded as failed.
 */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { type DevServer, startDevServer } from '../temporal/dev-server';
import { freePort } from '../tools/local-server';
import { lazarusInBackground, startLazarus } from './support/cli';
import * as stores from './support/stores';
import { uniqueQueue, waitFor } from './support/temporal';
import { killHard, waitForStepInProgress } from './support/worker-process';

test('defect 7: the CLI follows a run through a server outage and exits 0 when it succeeds', async () => {
  const stateDir = stores.tempDir();
  const port = await freePort();
  const start = () => startDevServer({ stateDir, port, log: () => {} });
  let server: DevServer = await start();
  const env = { TEMPORAL_ADDRESS: `127.0.0.1:${port}`, LAZARUS_TASK_QUEUE: uniqueQueue('outage') };
  // 512 KiB/s: the 8 MiB backup is still running when the server goes away.
  const worker = await startLazarus(['worker', '--rate-limit', String(512 << 10)], 'Worker connected', env);
  const dir = stores.tempDir();
  await stores.directoryWithFiles(path.join(dir, 'files'), 8, 1 << 20);
  const manifest = await stores.writeManifest(dir, {
    app: 'outage',
    services: { files: { datastore: { kind: 'directory', path: 'files' } } },
  });
  try {
    const cli = lazarusInBackground(['backup', manifest, '--json'], env);
    const client = new Client({ connection: await Connection.connect({ address: env.TEMPORAL_ADDRESS }) });
    let workflowId = '';
    await waitFor(async () => {
      for await (const run of client.workflow.list()) workflowId = run.workflowId;
      return workflowId !== '';
    });
    await waitForStepInProgress(client.workflow.getHandle(workflowId));
    await client.connection.close();

    await server.stop();
    await new Promise((r) => setTimeout(r, 25_000));
    server = await start();

    const { code, stdout, stderr } = await cli.exited;
    expect(stderr).toContain(`lost contact with the Temporal server`);
    expect(stderr).toContain(`still waiting for ${workflowId}`);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ workflowId, outcome: 'succeeded' });
  } finally {
    await killHard(worker);
    await server.stop();
  }
}, 300_000);
