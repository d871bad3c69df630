import type { Worker } from '@temporalio/worker';
import { startDevServer } from '../temporal/dev-server';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { connectClient, connectWorker, settingsFromEnv } from '../temporal/settings';
import { installQuietRuntime, createWorker, WorkerOptions } from '../worker/create-worker';

const log = (message: string) => console.error(message);

/** `lazarus dev`: the embedded default, a local server with its Web UI plus a worker, until Ctrl+C. */
export async function runDev(opts: { stateDir: string; port: number; uiPort: number }): Promise<void> {
  installQuietRuntime();
  const server = await startDevServer({ stateDir: opts.stateDir, port: opts.port, uiPort: opts.uiPort, log });
  const settings = settingsFromEnv({ address: server.address });
  const worker = await createWorker(server.nativeConnection, settings);
  log(`Temporal dev server: ${server.address} (state in ${opts.stateDir}/temporal.db)`);
  log(`Web UI: ${server.uiUrl}`);
  log(`Worker polling task queue "${settings.taskQueue}". Press Ctrl+C to stop.`);
  await runUntilStopped(worker);
  await server.stop();
}

/** `lazarus worker`: a worker for an existing server or cluster; run as many as the load needs. */
export async function runWorker(options: WorkerOptions): Promise<void> {
  installQuietRuntime();
  const settings = settingsFromEnv();
  const client = await connectClient(settings);
  try {
    const added = await ensureSearchAttributes(client, settings.namespace);
    if (added.length > 0) log(`Registered search attributes: ${added.join(', ')}`);
  } catch (err) {
    log(
      `Could not check search attributes (${(err as Error).message}); runs may fail to start without them.`,
    );
  }
  const worker = await createWorker(await connectWorker(settings), settings, options);
  log(
    `Worker connected to ${settings.address}, namespace ${settings.namespace}, task queue "${settings.taskQueue}".`,
  );
  await runUntilStopped(worker);
}

/** The SDK stops the worker gracefully on SIGINT and SIGTERM. */
async function runUntilStopped(worker: Worker): Promise<void> {
  await worker.run();
}
