/**
 * What `restore --at` and `drill --at` share: the captured services chosen, the target
 * read (a time, a group checkpoint's name, latest), each store's plan checked before the
 * run starts, then the run followed and its figures printed.
 */
import { UserError } from '../model/errors';
import type { Manifest } from '../model/manifest';
import { capturedServices } from '../model/captured';
import type { PitrPolicy } from '../model/pitr-policy';
import { restoreLayers } from '../model/graph';
import { type StreamTarget, planReplay } from '../model/timeline';
import type { PointRestoreMember, PointRestoreResult } from '../workflows/point-restore';
import { listed, openRepositoryOf, printJson } from './command-kit';
import { type ExecuteOptions, execute } from './execute';
import { formatBytes, formatDuration, table } from './output';

type Repo = Awaited<ReturnType<typeof openRepositoryOf>>;

export async function runAtPoint(
  file: string,
  manifest: Manifest,
  selected: string[],
  at: string,
  mode: 'in-place' | 'drill',
  opts: ExecuteOptions & { nearestCheckpoint?: boolean },
): Promise<void> {
  const policies = new Map(capturedServices(manifest).map((c) => [c.service, c.policy]));
  const stateful = selected.filter((s) => manifest.services[s].datastore);
  const uncaptured = stateful.filter((s) => !policies.has(s));
  if (uncaptured.length > 0)
    throw new UserError(
      `--at restores continuously captured stores only; ${listed(uncaptured)} has no pitr: leave it out with --services, or restore it from a backup without --at`,
    );
  const repo = await openRepositoryOf(file, manifest.repository);
  let members: PointRestoreMember[];
  try {
    members = await membersAt(manifest, repo, order(manifest, stateful), at, {
      nearest: opts.nearestCheckpoint === true,
      json: opts.json === true,
      policies,
    });
  } finally {
    await repo.close();
  }
  const input = { spec: { app: manifest.app, repository: manifest.repository }, members, mode, asked: at };
  await execute<PointRestoreResult>(opts, { operation: 'restore-at', input }, printPointResult);
}

function order(manifest: Manifest, services: string[]): string[] {
  const all = restoreLayers(manifest.services).flat();
  return all.filter((s) => services.includes(s));
}

/** Each member's target, checked against its stream's records now: a refusal here starts nothing. */
async function membersAt(
  manifest: Manifest,
  repo: Repo,
  services: string[],
  at: string,
  { nearest, json, policies }: { nearest: boolean; json: boolean; policies: Map<string, PitrPolicy> },
) {
  const checkpoint = nearest
    ? await checkpointBefore(manifest, repo, services, at)
    : await findCheckpoint(manifest, repo, at);
  if (checkpoint && !json)
    console.error(
      `checkpoint ${checkpoint.name} of group ${checkpoint.group}, at ${checkpoint.at} (skew ${checkpoint.skewMs} ms${checkpoint.paused ? ', paused: an exact cut' : ''})`,
    );
  else if (services.length > 1 && !json && at !== 'latest')
    console.error(
      `each store is restored to ${at} by its own log's clock; they agree to within their capture's clock skew (--nearest-checkpoint gives one instant)`,
    );
  const members: PointRestoreMember[] = [];
  for (const service of services) {
    const target = targetFor(at, checkpoint?.members[service]);
    const [bases, logs] = await Promise.all([
      repo.streams.bases(manifest.app, service),
      repo.streams.logs(manifest.app, service),
    ]);
    const plan = planReplay(bases, logs, target);
    if ('problem' in plan) throw new UserError(`--at ${at}: ${service}: ${plan.problem}`);
    const s = manifest.services[service];
    const restoreAs = policies.get(service)?.restore_as;
    members.push({ service, datastore: s.datastore!, target, validators: s.validate, restoreAs });
  }
  return members;
}

function targetFor(
  at: string,
  point: { lineage: string; offset: number; position: string } | undefined,
): StreamTarget {
  if (point) return { kind: 'position', ...point };
  if (at === 'latest') return { kind: 'latest' };
  const t = Date.parse(at);
  if (Number.isNaN(t))
    throw new UserError(
      `--at ${at}: write a time (2026-12-01T09:30:15.250Z), a group checkpoint's name, or latest`,
    );
  return { kind: 'time', time: new Date(t).toISOString() };
}

/** --nearest-checkpoint: the newest checkpoint at or before the time, of a group holding every chosen store. */
async function checkpointBefore(manifest: Manifest, repo: Repo, services: string[], at: string) {
  const t = Date.parse(at);
  if (Number.isNaN(t)) throw new UserError(`--nearest-checkpoint needs --at <time>, not ${at}`);
  const groups = Object.entries(manifest.consistencyGroups).filter(([, g]) =>
    services.every((s) => g.members.includes(s)),
  );
  const before = [];
  for (const [group] of groups)
    before.push(
      ...(await repo.streams.checkpoints(manifest.app, group)).filter((c) => Date.parse(c.at) <= t),
    );
  const newest = before.sort((a, b) => Date.parse(b.at) - Date.parse(a.at))[0];
  if (!newest)
    throw new UserError(
      `--at ${at} --nearest-checkpoint: no checkpoint at or before it of a group holding ${listed(services)}`,
    );
  return newest;
}

async function findCheckpoint(manifest: Manifest, repo: Repo, name: string) {
  for (const group of Object.keys(manifest.consistencyGroups)) {
    const found = (await repo.streams.checkpoints(manifest.app, group)).find((c) => c.name === name);
    if (found) return found;
  }
  return undefined;
}

function printPointResult(
  result: PointRestoreResult,
  { json, workflowId }: { json?: boolean; workflowId: string },
) {
  if (json) return printJson({ workflowId, ...result });
  const rows = Object.entries(result.restored).map(([service, r]) => [
    service,
    r.reached.time ?? r.reached.position,
    `${r.base} (${r.baseConsistentAt})`,
    `${r.files} files, ${formatBytes(r.logBytes)}`,
    formatDuration(r.durationMs),
    r.validations
      ? r.validations.map((v) => `${v.ok ? 'ok' : 'FAILED'} ${v.check}: ${v.detail}`).join('; ')
      : '-',
  ]);
  console.log(table(['service', 'reached', 'base', 'log replayed', 'took', 'checks'], rows));
  console.log(`${result.mode === 'drill' ? 'drill' : 'restore'} --at ${result.asked}: ${result.outcome}`);
}
