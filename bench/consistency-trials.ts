/**
 * Trials of the checkout example under load: back up while the workload moves units at
 * full speed, restore into copies, and count the items whose units no longer add up.
 * Shared by `npm run bench:consistency` and the test that runs a shorter version.
 */
import type { Client } from '@temporalio/client';
import { appSpec } from '../model/app-spec';
import { startRun } from '../temporal/runs';
import { loadManifest } from '../config/load-manifest';
import type { RunResult } from '../workflows/types';
import {
  CheckoutStores,
  CheckoutWorkload,
  PauseGate,
  checkoutManifest,
  invariantViolations,
  seedCheckout,
  serveGate,
} from '../examples/checkout/workload';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

export const checkoutStores: CheckoutStores = {
  stockDatabase: 'lz_checkout_stock',
  ordersDatabase: 'lz_checkout_orders',
  reservationsDb: 6,
};
const STAGING_DB = 7;
const copies: CheckoutStores = {
  stockDatabase: 'lz_checkout_stock_copy',
  ordersDatabase: 'lz_checkout_orders_copy',
  reservationsDb: 8,
};

export interface TrialsResult {
  trials: number;
  violatingTrials: number;
  freezeMs: number[];
  moves: { duringFreeze: number; outsideFreeze: number };
  movesDuringBackups: number;
}

export async function runTrials(options: {
  client: Client;
  taskQueue: string;
  dir: string;
  trials: number;
  group: boolean;
}): Promise<TrialsResult> {
  await seedCheckout(checkoutStores);
  const gate = new PauseGate();
  const gateServer = await serveGate(gate);
  const manifestFile = path.join(options.dir, options.group ? 'with-group.yaml' : 'without-group.yaml');
  await fs.mkdir(options.dir, { recursive: true });
  const doc = checkoutManifest(checkoutStores, {
    gateUrl: gateServer.url,
    group: options.group,
    stagingDb: STAGING_DB,
  });
  await fs.writeFile(manifestFile, YAML.stringify(doc));
  const spec = appSpec(loadManifest(manifestFile));
  const workload = new CheckoutWorkload(checkoutStores, gate);
  await workload.start();
  const windows: { from: number; to: number }[] = [];
  const freezeMs: number[] = [];
  let violatingTrials = 0;
  const startedAt = Date.now();
  let movesDuringBackups = 0;
  try {
    for (let trial = 0; trial < options.trials; trial++) {
      const before = workload.completed.length;
      const backup = await finished(options.client, options.taskQueue, {
        operation: 'backup',
        input: { spec },
      });
      movesDuringBackups += workload.completed.length - before;
      for (const group of backup.groups ?? []) {
        if (group.freezeMs === undefined) continue;
        freezeMs.push(group.freezeMs);
        windows.push({ from: Date.parse(group.frozenAt!), to: Date.parse(group.releasedAt!) });
      }
      await finished(options.client, options.taskQueue, {
        operation: 'restore',
        input: {
          spec,
          backupId: backup.backupId,
          // The copies are the trials' own, replaced by each trial: no one to ask.
          approved: true,
          replaceTargets: true,
          targets: {
            stock: copies.stockDatabase,
            orders: copies.ordersDatabase,
            reservations: String(copies.reservationsDb),
          },
        },
      });
      if ((await invariantViolations(copies)) > 0) violatingTrials++;
    }
  } finally {
    await workload.stop();
    gateServer.close();
  }
  return {
    trials: options.trials,
    violatingTrials,
    freezeMs,
    moves: workload.rates(windows, { from: startedAt, to: Date.now() }),
    movesDuringBackups,
  };
}

async function finished(client: Client, taskQueue: string, request: Parameters<typeof startRun>[2]) {
  const run = await startRun(client, taskQueue, request);
  const result: RunResult = await run.result;
  if (result.outcome !== 'succeeded') {
    const why = Object.entries(result.services)
      .filter(([, o]) => o.status !== 'succeeded')
      .map(([s, o]) => `${s}: ${o.reason}`);
    throw new Error(`${request.operation} ${result.outcome}: ${why.join('; ') || result.reason}`);
  }
  return result;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
