/** What `lazarus restore` adds to a run: its --target mapping, checked, and how to approve it. */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { UserError } from '../model/errors';
import { progressQuery } from '../workflows/run-state';
import { targetProblems } from '../workflows/sandbox';
import type { AppSpec } from '../workflows/types';
import type { RestoreSelection } from '../model/restore-selection';
import { listed } from './command-kit';
import { isPathStore } from '../datastores/registry';

/**
 * `--target service=target` pairs. A relative path is resolved against the manifest's
 * directory, as the manifest's own paths are: the worker, perhaps on another machine,
 * would resolve it against its own. A target that is production or the repository is refused.
 */
export function parseTargets(
  pairs: string[],
  spec: AppSpec,
  baseDir: string,
  selected: readonly string[],
): Record<string, string> {
  const targets: Record<string, string> = {};
  for (const pair of pairs) {
    const [service, target] = splitPair(pair);
    if (!(service in spec.services)) throw new UserError(`--target ${pair}: unknown service "${service}"`);
    if (targets[service]) throw new UserError(`--target ${pair}: ${service} is given a target twice`);
    if (!selected.includes(service))
      throw new UserError(`--target ${pair}: ${service} is not restored by this command (see --services)`);
    const store = spec.services[service].datastore;
    targets[service] = store && isPathStore(store) ? path.resolve(baseDir, target) : target;
  }
  const problems = targetProblems(spec, targets);
  if (problems.length > 0)
    throw new UserError(`--target: a restore there would not be safe:\n  ${problems.join('\n  ')}`);
  return targets;
}

function splitPair(pair: string): [string, string] {
  const at = pair.indexOf('=');
  if (at < 1 || at === pair.length - 1)
    throw new UserError(`--target ${pair}: expected service=target, e.g. orders=orders_restored`);
  return [pair.slice(0, at), pair.slice(at + 1)];
}

/** What the restore writes, for its approval request: `users in place, files into /srv/copy`. */
export function restoreWrites(selection: RestoreSelection, targets: Record<string, string>) {
  return selection.stateful.map((s) => (targets[s] ? `${s} into ${targets[s]}` : `${s} in place`));
}

/** How to approve or reject a waiting restore, as commands to paste into a shell. */
export function approvalNotice(workflowId: string, writes: readonly string[], timeout: string): string {
  const id = shellQuoted(workflowId);
  return (
    `${workflowId} waits for approval (up to ${timeout}) to restore ${listed(writes, 10)}:\n` +
    `  lazarus approve ${id}\n  lazarus reject ${id} --reason '...'`
  );
}

/** Prints `notice` once the run waits for approval; stops when the run ends. */
export async function announceWhenWaiting(
  client: Client,
  workflowId: string,
  ended: Promise<unknown>,
  notice: string,
): Promise<void> {
  let running = true;
  ended.then(
    () => (running = false),
    () => (running = false),
  );
  const handle = client.workflow.getHandle(workflowId);
  while (running) {
    // The query fails until the run's first task has registered it.
    const progress = await handle.query(progressQuery).catch(() => undefined);
    if (progress?.awaitingApproval) return void console.error(notice);
    await sleep(300);
  }
}

function shellQuoted(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
