/**
 * An existing cluster that has never seen Lazarus (no search attributes registered):
 * `lazarus worker` registers them, and backups then run through it.
 */
import path from 'node:path';
import { startDevServer } from '../temporal/dev-server';
import { lazarus, startLazarus } from './support/cli';
import * as stores from './support/stores';
import { killHard } from './support/worker-process';

test('lazarus worker registers the search attributes a bare cluster lacks', async () => {
  const bare = await startDevServer({ searchAttributes: false, log: () => {} });
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
    await bare.stop();
  }
}, 120_000);
