/**
 * An existing cluster that has never seen Lazarus (no search attributes registered):
 * `lazarus worker` registers them, and backups then run through it.
 */
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ensureTemporalCli } from '../temporal/cli-binary';
import { lazarus, startLazarus } from './support/cli';
import * as stores from './support/stores';
import { killHard } from './support/worker-process';

test('lazarus worker registers the search attributes a bare cluster lacks', async () => {
  const bare = await TestWorkflowEnvironment.createLocal({
    server: { executable: await ensureTemporalCli(() => {}), ip: '127.0.0.1' },
  });
  const env = { TEMPORAL_ADDRESS: bare.address, LAZARUS_TASK_QUEUE: 'bare' };
  try {
    const dir = stores.tempDir();
    stores.sqliteWithRows(path.join(dir, 'a.db'), 10);
    const manifest = await stores.writeManifest(dir, {
      app: 'bare',
      services: { a: { datastore: { kind: 'sqlite', path: 'a.db' } } },
    });

    const worker = await startLazarus(['worker'], 'Worker connected', env);
    try {
      const backup = lazarus(['backup', manifest, '--json'], env);
      expect(backup.code).toBe(0);
      expect(JSON.parse(backup.stdout).outcome).toBe('succeeded');
      const attributes = await bare.client.connection.operatorService.listSearchAttributes({
        namespace: 'default',
      });
      expect(Object.keys(attributes.customAttributes ?? {})).toEqual(
        expect.arrayContaining(['LazarusApp', 'LazarusKind', 'LazarusOutcome', 'LazarusServices']),
      );
    } finally {
      await killHard(worker);
    }
  } finally {
    await bare.teardown();
  }
}, 120_000);
