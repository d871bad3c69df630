/**
 * `lazarus dev`: a local server with its Web UI and a worker; runs survive a restart
 * because the server keeps a SQLite file in the state directory.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startDevServer } from '../temporal/dev-server';
import { freePort } from '../tools/local-server';
import { lazarus, startLazarus } from './support/cli';
import { sqliteWithRows, tempDir, writeManifest } from './support/stores';

function startDev(stateDir: string, port: number, uiPort: number): Promise<ChildProcess> {
  const args = ['dev', '--state-dir', stateDir, '--port', String(port), '--ui-port', String(uiPort)];
  return startLazarus(args, 'Press Ctrl+C to stop');
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  return exited;
}

test('lazarus dev serves the UI, runs backups, stops on Ctrl+C and keeps its runs', async () => {
  const stateDir = tempDir();
  sqliteWithRows(path.join(stateDir, 'notes.db'), 100);
  const manifest = await writeManifest(stateDir, {
    app: 'devtest',
    services: { notes: { datastore: { kind: 'sqlite', path: 'notes.db' } } },
  });
  const [port, uiPort] = [await freePort(), await freePort()];
  const env = { TEMPORAL_ADDRESS: `127.0.0.1:${port}`, LAZARUS_TASK_QUEUE: 'lazarus' };

  let dev = await startDev(stateDir, port, uiPort);
  expect((await fetch(`http://127.0.0.1:${uiPort}/`)).status).toBe(200);
  const backup = lazarus(['backup', manifest, '--json'], env);
  expect(backup.code).toBe(0);
  const { workflowId } = JSON.parse(backup.stdout);
  expect(await stop(dev)).toBe(0);

  dev = await startDev(stateDir, port, uiPort);
  try {
    const runs = JSON.parse(lazarus(['runs', '--app', 'devtest', '--json'], env).stdout);
    expect(runs.map((r: { workflowId: string }) => r.workflowId)).toContain(workflowId);
  } finally {
    await stop(dev);
  }
}, 120_000);

/** The command lines of this machine's processes that mention `text`. */
function processesMentioning(text: string): string[] {
  const commandLines = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      } catch {
        return ''; // ended meanwhile
      }
    });
  return commandLines.filter((line) => line.includes(text));
}

test('a dev server that is not ready in time is stopped, not left running', async () => {
  const stateDir = tempDir();
  await expect(startDevServer({ stateDir, readyTimeoutMs: 1, log: () => {} })).rejects.toThrow(
    /the Temporal dev server at 127\.0\.0\.1:\d+ was not ready after .*; it was stopped/,
  );
  expect(processesMentioning(path.join(stateDir, 'temporal.db'))).toEqual([]);
});
