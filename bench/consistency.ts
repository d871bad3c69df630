/**
 * `npm run bench:consistency`: the checkout workload moves units between MariaDB,
 * PostgreSQL and Redis at full speed while Lazarus backs it up, BENCH_TRIALS times with
 * the consistency group and as many times without it (each store snapshotted on its
 * own). Each backup is restored into copies and the invariant checked. Prints one JSON
 * line. Runs its own dev server and worker.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { NativeConnection } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { startDevServer } from '../temporal/dev-server';
import { settingsFromEnv } from '../temporal/settings';
import { createWorker } from '../worker/create-worker';
import { percentile, runTrials } from './consistency-trials';

const TRIALS = Number(process.env.BENCH_TRIALS ?? 20);

async function main(): Promise<void> {
  const server = await startDevServer({ log: (m) => console.error(m) });
  const taskQueue = 'bench-consistency';
  const workerConnection = await NativeConnection.connect({ address: server.address });
  const worker = await createWorker(
    workerConnection,
    settingsFromEnv({ address: server.address, taskQueue }),
    {},
  );
  const running = worker.run();
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-bench-consistency-'));
  try {
    const withGroup = await runTrials({ client, taskQueue, dir, trials: TRIALS, group: true });
    const withoutGroup = await runTrials({ client, taskQueue, dir, trials: TRIALS, group: false });
    console.log(
      JSON.stringify({
        trials: TRIALS,
        violationsWithGroup: withGroup.violatingTrials,
        violationsWithoutGroup: withoutGroup.violatingTrials,
        freezeMs: { p50: percentile(withGroup.freezeMs, 50), p99: percentile(withGroup.freezeMs, 99) },
        opsPerSecond: {
          duringFreeze: withGroup.moves.duringFreeze,
          outsideFreeze: withGroup.moves.outsideFreeze,
          withoutGroup: withoutGroup.moves.outsideFreeze,
        },
        opsDuringBackups: {
          withGroup: withGroup.movesDuringBackups,
          withoutGroup: withoutGroup.movesDuringBackups,
        },
      }),
    );
  } finally {
    worker.shutdown();
    await running;
    await workerConnection.close();
    await client.connection.close();
    await server.stop();
  }
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
