/**
 * The demo's serverless part, on the notes example: a Worker on a self-hosted workerd,
 * bound to a D1 database, a KV namespace and an R2 bucket. v1 is deployed and writes
 * notes, a backup is taken, a broken v2 is deployed and overwrites them, and the Worker is
 * rolled back with its data; its answer is printed before and after.
 */
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Client } from '@temporalio/client';
import { loadManifest } from '../config/load-manifest';
import { packageRoot } from '../config/package-root';
import { shortVersion } from '../functions/versions';
import { appSpec } from '../model/app-spec';
import { Repository } from '../repository/repository';
import { startRun } from '../temporal/runs';
import { cliContext, deployProject } from './function-deploy';
import { formatDuration, runTable } from './output';
import { followRun } from './run-workflow';
import { platformFor } from '../functions/platforms';
import { httpCall } from '../functions/http-call';
import { stopHost } from '../functions/workerd/host-client';
import { hostPaths } from '../functions/workerd/layout';

const NOTES_DIR = path.join(packageRoot(), 'examples', 'notes');

type Say = (text?: string) => void;

/** Runs the steps; true when the Worker answers after the rollback exactly as before the breakage. */
export async function demoFunctions(client: Client, taskQueue: string, say: Say): Promise<boolean> {
  const file = path.join(NOTES_DIR, 'lazarus.yaml');
  const manifest = loadManifest(file);
  const fn = manifest.services.notes.function!;
  if (fn.platform !== 'workerd') throw new Error('the notes example runs on workerd');
  const url = `http://${fn.host}:${fn.port}/`;
  const platform = platformFor(fn);
  // A fresh start each time: the Worker's state is the demo's own.
  await platform.removeCopy(fn, cliContext());
  const repo = await Repository.open(manifest.repository, { create: true });
  try {
    say(`\n8. A serverless function: the notes Worker on workerd (${url}), bound to D1, KV and R2`);
    const v1 = await deployProject(repo, { app: manifest.app, service: 'notes' }, fn);
    for (const note of ['alpha', 'beta']) await httpCall(url, { method: 'POST', body: note });
    const before = await answer(url);
    say(`   deployed ${shortVersion(v1.version)}, wrote two notes; it answers ${JSON.stringify(before)}`);

    const backupRun = await startRun(client, taskQueue, {
      operation: 'backup',
      input: { spec: appSpec(manifest) },
    });
    const backup = await followRun(client, backupRun, process.stderr.isTTY === true);
    say(
      `   backup ${backup.backupId}: the Worker's version with its D1, KV and R2 data, ${backup.outcome} in ${formatDuration(backup.durationMs)}`,
    );

    const brokenBuild = { ...fn, wrangler: path.join(NOTES_DIR, 'broken', 'wrangler.toml') };
    await deployProject(repo, { app: manifest.app, service: 'notes' }, brokenBuild);
    await httpCall(url, { method: 'POST', body: 'oops' });
    say(`   a broken v2 is deployed and writes bad data; it answers ${JSON.stringify(await answer(url))}`);

    say(
      `   lazarus functions rollback ${path.relative(process.cwd(), file)} notes --to ${backup.backupId} --yes`,
    );
    const rollbackRun = await startRun(client, taskQueue, {
      operation: 'restore',
      input: {
        spec: appSpec(manifest),
        backupId: backup.backupId,
        services: ['notes', ...manifest.services.notes.depends_on],
        approved: true,
      },
    });
    const rollback = await followRun(client, rollbackRun, process.stderr.isTTY === true);
    say(runTable(rollback).replace(/^/gm, '   '));
    const after = await answer(url);
    const same = isDeepStrictEqual(after, before);
    say(`   rolled back in ${formatDuration(rollback.durationMs)}; it answers ${JSON.stringify(after)}`);
    say(`   ${same ? 'OK  ' : 'DIFF'} code and data are v1's again`);
    return same && rollback.outcome === 'succeeded';
  } finally {
    await repo.close();
    // The demo leaves nothing running: its Worker's host stops, its data stays.
    await stopHost(hostPaths(fn.state!));
  }
}

async function answer(url: string): Promise<unknown> {
  return JSON.parse((await httpCall(url)).body) as unknown;
}
