/**
 * The Temporal Web UI, in a real browser (playwright-core driving Debian's chromium,
 * headless): runs filter by the application's search attribute, and a backup run shows
 * each service's steps by name, a failed one included.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { type Browser, chromium } from 'playwright-core';
import { type DevServer, startDevServer } from '../temporal/dev-server';
import { freePort } from '../tools/local-server';
import { chromiumPath } from '../tools/prerequisites';
import { lazarus } from './support/cli';
import * as stores from './support/stores';
import { uniqueQueue } from './support/temporal';
import { killHard, spawnWorker } from './support/worker-process';

const browserPath = chromiumPath();

let server: DevServer;
let worker: ChildProcess;
let browser: Browser;
let env: Record<string, string>;

beforeAll(async () => {
  if (!existsSync(browserPath))
    throw new Error(
      `no browser at ${browserPath}: npm test installs Debian's chromium, or set LAZARUS_CHROMIUM`,
    );
  server = await startDevServer({ uiPort: await freePort(), log: () => {} });
  const queue = uniqueQueue('ui');
  env = { TEMPORAL_ADDRESS: server.address, LAZARUS_TASK_QUEUE: queue };
  worker = await spawnWorker(queue, [], env);
  browser = await chromium.launch({ executablePath: browserPath, headless: true, args: ['--no-sandbox'] });
});

afterAll(async () => {
  await browser?.close();
  if (worker) await killHard(worker);
  await server?.stop();
});

async function shopManifest(app: string): Promise<string> {
  const dir = stores.tempDir();
  stores.sqliteWithRows(path.join(dir, 'orders.db'), 100);
  mkdirSync(path.join(dir, 'files'));
  writeFileSync(path.join(dir, 'files', 'a.txt'), 'a');
  return stores.writeManifest(dir, {
    app,
    services: {
      web: { depends_on: ['orders', 'files', 'ledger'] },
      orders: { tier: 'critical', datastore: { kind: 'sqlite', path: 'orders.db' } },
      files: { datastore: { kind: 'directory', path: 'files' } },
      ledger: { datastore: { kind: 'sqlite', path: 'missing/ledger.db' } }, // fails: no such database
    },
  });
}

test('the Web UI filters runs by application and shows each service step of a backup', async () => {
  expect(lazarus(['backup', await shopManifest('uishop')], env).code).toBe(1); // partial: ledger failed
  expect(lazarus(['backup', await shopManifest('uiother')], env).code).toBe(1);

  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const query = encodeURIComponent('LazarusApp="uishop"');
  await page.goto(`${server.uiUrl}/namespaces/default/workflows?query=${query}`);
  const run = page.getByRole('link', { name: /^backup\/uishop\// });
  await run.first().waitFor({ timeout: 30_000 });
  expect(await page.getByRole('link', { name: /^backup\/uiother\// }).count()).toBe(0);
  expect(await page.getByText('backupApplication').count()).toBeGreaterThan(0);

  await run.first().click();
  await page.waitForURL(/\/workflows\/backup%2Fuishop%2F.*\/history/);
  for (const service of ['orders', 'files', 'ledger'])
    await page.getByText(`snapshotService • snapshot ${service}`).first().waitFor({ timeout: 30_000 });
  // The failed step is one click away: its events, with the failure that names the missing database.
  await page.getByText('snapshotService • snapshot ledger').first().click();
  await page.getByText('Activity Task Failed').first().waitFor({ timeout: 30_000 });
  await page
    .getByText(/missing\/ledger\.db does not exist/)
    .first()
    .waitFor({ timeout: 30_000 });
  expect(await page.getByText('snapshot/ledger', { exact: true }).count()).toBeGreaterThan(0); // the activity ID
  await page.close();
});
