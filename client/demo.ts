/**
 * `npm run demo`: the shop example end to end on the embedded default. Seeds data,
 * backs up, verifies, breaks the data, restores in dependency order, proves the
 * restored data equal to the original, then drills the backup in a sandbox; then rolls
 * the notes Worker back with its data after a broken deploy (client/demo-functions.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { adapterFor, fingerprintServices } from '../datastores/adapters';
import { breakService, seedService } from '../examples/shop/shop';
import { loadManifest } from '../config/load-manifest';
import { packageRoot } from '../config/package-root';
import { restoreLayers } from '../model/graph';
import type { Datastore, Manifest } from '../model/manifest';
import { costReport } from '../repository/maintenance/cost';
import type { RepositoryConfig } from '../repository/engine/format';
import { Repository } from '../repository/repository';
import { connectProblem, startDevServer, DevServer } from '../temporal/dev-server';
import { connectWorker, settingsFromEnv } from '../temporal/settings';
import { installQuietRuntime, createWorker } from '../worker/create-worker';
import { formatDuration, runTable, formatBytes } from './output';
import { followRun } from './run-workflow';
import { startRun } from '../temporal/runs';
import { startFerretDB } from '../tools/ferretdb-server';
import { startScratchServer } from '../datastores/nats/scratch';
import { appSpec } from '../model/app-spec';
import { drillSummary } from './drill-summary';
import { demoFunctions } from './demo-functions';
import { writeDrillReport } from './drill-html';
import type { DrillReport } from '../workflows/drill-report';

const EXAMPLE_DIR = path.join(packageRoot(), 'examples', 'shop');
const say = (text = '') => console.log(text);

export async function runDemo(opts: { withServers: boolean; keepOpen: boolean }): Promise<void> {
  installQuietRuntime();
  const file = path.join(EXAMPLE_DIR, opts.withServers ? 'lazarus.servers.yaml' : 'lazarus.yaml');
  // The demo's secret: referenced by the manifest, read by the worker, never in history.
  process.env.SHOP_PAYMENTS_PASSWORD ??= 'demo-secret';
  // The repository's password, read by the worker like any secret: the demo's repository is
  // encrypted, unless an earlier version of the demo created it without encryption.
  if (!isUnencryptedRepository(path.join(EXAMPLE_DIR, '.lazarus', 'repo')))
    process.env.LAZARUS_PASSWORD ??= 'lazarus-demo';
  const manifest = loadManifest(file);
  const stores = statefulServices(manifest);
  const width = Math.max(10, ...stores.map(([name]) => name.length));

  say(`Lazarus demo: application "${manifest.app}" from ${path.relative(process.cwd(), file)}`);
  say(
    `Restore order: ${restoreLayers(manifest.services)
      .map((l) => l.join(' + '))
      .join('  ->  ')}`,
  );
  const extras = opts.withServers ? await startDemoServers() : [];
  const { client, server, uiBase, address } = await connectOrStartServer();
  const settings = settingsFromEnv({ address, taskQueue: 'lazarus-demo' });
  const worker = await createWorker(
    server ? server.nativeConnection : await connectWorker(settings),
    settings,
  );
  const running = worker.run();
  try {
    say("\n1. Seeding the shop's data");
    for (const [name, store] of stores) await seedService(name, store);
    const before = await fingerprintServices(manifest.services);
    for (const [name, store] of stores) say(`   ${name.padEnd(width)} ${adapterFor(store).describe(store)}`);

    say('\n2. Backing up every service');
    const backupRun = await startRun(client, settings.taskQueue, {
      operation: 'backup',
      input: { spec: appSpec(manifest) },
    });
    const backup = await followRun(client, backupRun, process.stderr.isTTY === true);
    say(indent(runTable(backup)));
    say(`   backup ${backup.backupId}: ${backup.outcome} in ${formatDuration(backup.durationMs)}`);

    say('\n3. Verifying the repository (reading, decrypting and re-hashing every pack)');
    const repo = await Repository.open(manifest.repository);
    const report = await repo.verify({ readData: true });
    const cost = await costReport(repo, manifest.app, manifest.cost);
    await repo.close();
    say(
      `   ${report.snapshots} snapshots in ${report.packs} packs, ${formatBytes(report.bytesRead)}: ${report.problems.length === 0 ? 'all intact' : `${report.problems.length} damaged`}`,
    );
    say(
      `   ${formatBytes(cost.repository.logicalBytes)} of snapshots stored as ${formatBytes(cost.repository.packBytes)} ` +
        `(dedup ${cost.repository.dedupRatio}x, compression ${cost.repository.compressionRatio}x)` +
        (repo.encrypted ? ', encrypted with the password in LAZARUS_PASSWORD' : ''),
    );

    say('\n4. Disaster strikes');
    for (const [name, store] of stores) say(`   ${name.padEnd(width)} ${await breakService(name, store)}`);

    say('\n5. Restoring in dependency order (over the originals: approved up front, as --yes does)');
    const restoreRun = await startRun(client, settings.taskQueue, {
      operation: 'restore',
      input: { approved: true, spec: appSpec(manifest), backupId: backup.backupId },
    });
    const restore = await followRun(client, restoreRun, process.stderr.isTTY === true);
    say(indent(runTable(restore)));
    say(`   whole application restored in ${formatDuration(restore.durationMs)} (${restore.outcome})`);

    say('\n6. Checking the restored data against the original');
    const after = await fingerprintServices(manifest.services);
    let equal = 0;
    for (const [name] of stores) {
      const same = before[name] === after[name];
      if (same) equal++;
      say(`   ${same ? 'OK  ' : 'DIFF'} ${name.padEnd(width)} ${after[name].slice(0, 16)}`);
    }
    say(`   ${equal}/${stores.length} services hold exactly the data they held before the disaster`);

    say('\n7. Drilling: the backup restored into a sandbox, validated, measured, torn down');
    const drillRun = await startRun(client, settings.taskQueue, {
      operation: 'drill',
      input: { spec: appSpec(manifest) },
    });
    const drill = (await followRun(
      client,
      drillRun,
      process.stderr.isTTY === true,
    )) as unknown as DrillReport;
    say(indent(drillSummary(drill)));
    const reportFiles = await writeDrillReport(drill, path.join('.lazarus', 'reports'));
    say(`   report: ${path.relative(process.cwd(), reportFiles.html)}`);

    const functionsOk = await demoFunctions(client, settings.taskQueue, say);

    say('\nThe runs, in the Temporal Web UI:');
    for (const run of [backupRun, restoreRun, drillRun]) {
      say(`   ${uiBase}/namespaces/${settings.namespace}/workflows/${encodeURIComponent(run.workflowId)}`);
    }
    say(
      `   ${uiBase}/namespaces/${settings.namespace}/workflows?query=${encodeURIComponent(`LazarusApp="${manifest.app}"`)}`,
    );
    if (server && !opts.keepOpen)
      say(
        '   (the demo server stops now; its runs are kept: "npx lazarus dev --state-dir .lazarus/demo-server" serves them again)',
      );
    const shopOk =
      equal === stores.length && restore.outcome === 'succeeded' && drill.outcome === 'succeeded';
    if (!shopOk || !functionsOk) process.exitCode = 1;
    if (server && opts.keepOpen) {
      say('\nServer and UI stay up; press Ctrl+C to stop.');
      await running;
    }
  } finally {
    worker.shutdown();
    await running.catch(() => {});
    await server?.stop();
    for (const extra of extras) await extra.stop();
  }
}

/**
 * What the servers manifest needs beyond this machine's servers: MongoDB, as FerretDB on
 * the port the manifest names (built with Go the first time, which takes a few minutes),
 * and the NATS server its drill restores the stream into.
 */
async function startDemoServers(): Promise<{ stop(): Promise<void> }[]> {
  say('Starting FerretDB (MongoDB) on 127.0.0.1:27118 and a drill sandbox nats-server on 127.0.0.1:4333');
  const mongo = await startFerretDB(path.join(EXAMPLE_DIR, '.lazarus', 'ferretdb'), { port: 27118 }, (m) =>
    say(`   ${m}`),
  );
  try {
    return [mongo, await startScratchServer('demo-sandbox', 4333)];
  } catch (err) {
    await mongo.stop();
    throw err;
  }
}

function statefulServices(manifest: Manifest): [string, Datastore][] {
  return Object.entries(manifest.services)
    .filter(([, s]) => s.datastore)
    .map(([name, s]) => [name, s.datastore as Datastore]);
}

/** Uses a server that is already up (TEMPORAL_ADDRESS, or `lazarus dev`), else starts the embedded one. */
async function connectOrStartServer(): Promise<{
  client: Client;
  server?: DevServer;
  uiBase: string;
  address: string;
}> {
  const { address, namespace } = settingsFromEnv();
  if (!(await connectProblem(address, 1000, namespace))) {
    say(`Using the Temporal server already running at ${address}`);
    const connection = await Connection.connect({ address });
    return { client: new Client({ connection, namespace }), uiBase: 'http://127.0.0.1:8233', address };
  }
  say('Starting the embedded Temporal dev server (state in .lazarus/demo-server)...');
  const server = await startDevServer({
    stateDir: '.lazarus/demo-server',
    port: 7233,
    uiPort: 8233,
    log: say,
  });
  return { client: server.client, server, uiBase: server.uiUrl ?? '', address: server.address };
}

function indent(text: string): string {
  return text.replace(/^/gm, '   ');
}

function isUnencryptedRepository(root: string): boolean {
  try {
    return (
      (JSON.parse(readFileSync(path.join(root, 'config'), 'utf8')) as RepositoryConfig).encryption === 'none'
    );
  } catch {
    return false;
  }
}
