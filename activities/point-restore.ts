/**
 * Restore to a point in time, for one captured store: the plan (base and log) decided
 * from the records before anything is read, the engine's replay on a scratch server of its
 * own (the base streamed into it from the repository, then the log downloaded while the
 * replay reads it, file by file) checked for the point it reached, then either
 * the recovered data swapped into the live store through the kind's ordinary adapter
 * (staging, then swap), or, for a drill, the validators run on the scratch copy. The
 * scratch server is always stopped; it never writes into the production stream.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { createWriteStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import pLimit from 'p-limit';
import type { LogFile, LogMark, LogPoint, LogRecord } from '../contracts/streams';
import type { ReplayTarget } from '../datastores/capture';
import type { Validator } from '../model/validators';
import type { Datastore } from '../model/manifest';
import { stagingId } from '../contracts/ids';
import { type ReplayPlan, type StreamTarget, planReplay } from '../model/timeline';
import type { Repository } from '../repository/repository';
import type { StreamInput } from './capture';
import type { FeatureDeps } from './deps';
import { type ValidationResult, validateCopy } from './drill';
import { type StepTiming, adapterContext, timing, withHeartbeats } from './support';

export interface PointRestoreInput extends StreamInput {
  target: StreamTarget;
  /** in-place: swapped into the live store; drill: validated on the scratch copy, then removed. */
  mode: 'in-place' | 'drill';
  stagingId: string;
  validators?: Validator[];
  /** PostgreSQL: the one database, or every database of the recovered cluster. */
  restoreAs?: 'database' | 'cluster';
}

export interface PointPlan {
  base: string;
  baseConsistentAt: string;
  lineage: string;
  files: number;
  logBytes: number;
}

export interface PointRestoreOutput extends StepTiming, PointPlan {
  /** Where the replay stopped, read from the recovered server. */
  reached: LogPoint;
  validations?: ValidationResult[];
}

type PointDeps = Pick<
  FeatureDeps,
  'captureEngineFor' | 'adapterFor' | 'runHookOnce' | 'repositories' | 'scratchDir'
>;

export function pointRestoreActivities(deps: PointDeps) {
  const planFor = async (repo: Repository, input: StreamInput & { target: StreamTarget }) => {
    const [bases, logs] = await Promise.all([
      repo.streams.bases(input.app, input.service),
      repo.streams.logs(input.app, input.service),
    ]);
    const plan = planReplay(bases, logs, input.target);
    if ('problem' in plan) {
      throw ApplicationFailure.nonRetryable(`${input.service}: ${plan.problem}`, 'UserError');
    }
    return plan;
  };

  return {
    /** The base and log a restore to the target would use; refused (not retried) when there is none. */
    async planPointRestore(input: StreamInput & { target: StreamTarget }): Promise<PointPlan> {
      const repo = await deps.repositories.open(input.repository);
      return summary(await planFor(repo, input));
    },

    async restoreToPoint(input: PointRestoreInput): Promise<PointRestoreOutput> {
      const started = Date.now();
      const engine = deps.captureEngineFor(input.datastore);
      if (!engine)
        throw ApplicationFailure.nonRetryable(`a ${input.datastore.kind} store has no continuous capture`);
      const repo = await deps.repositories.open(input.repository);
      const plan = await planFor(repo, input);
      const workDir = path.join(deps.scratchDir ?? os.tmpdir(), 'lazarus-replay', input.stagingId);
      await fs.rm(workDir, { recursive: true, force: true });
      const logDir = path.join(workDir, 'log');
      await fs.mkdir(logDir, { recursive: true });
      const download = logDownload(repo, plan.logs, logDir, Context.current().cancellationSignal);
      // The base first (it and the log decode on the same codec workers): recovery then starts
      // while the rest of the log arrives.
      const openBase = () => {
        const bytes = repo.openSnapshot(plan.base.snapshot);
        bytes.once('end', download.start).once('close', download.start);
        return bytes;
      };
      return withHeartbeats(async (progress) => {
        progress({ phase: `replay ${input.service}`, bytes: 0 });
        try {
          const logs = await logFilesOf(repo, plan.logs);
          const recovered = await engine.replay({
            store: input.datastore,
            workDir: path.join(workDir, 'server'),
            openBase,
            logDir,
            logs,
            logsArriving: download.done,
            target: replayTargetOf(input.target, logs),
            signal: download.signal,
          });
          try {
            const validations = await finish(deps, input, recovered.store, recovered.siblings, repo);
            return { ...summary(plan), reached: recovered.reached, validations, ...timing(started) };
          } finally {
            await recovered.stop().catch(() => {});
          }
        } catch (err) {
          throw download.failure() ?? err; // a failed download is the cause of the replay's failure
        } finally {
          await download.end();
          await fs.rm(workDir, { recursive: true, force: true });
        }
      });
    },
  };
}

/** In place: the recovered data through the kind's own restore (staged, then swapped); a drill: validated. */
async function finish(
  deps: PointDeps,
  input: PointRestoreInput,
  recovered: PointRestoreInput['datastore'],
  siblings: (() => Promise<string[]>) | undefined,
  repo: Repository,
): Promise<ValidationResult[] | undefined> {
  const adapter = deps.adapterFor(input.datastore);
  const ctx = adapterContext(input.stagingId);
  if (input.mode === 'in-place') {
    const restoreOne = async (live: Datastore, copy: Datastore, staging: string) => {
      const at = { ...ctx, stagingId: staging };
      await adapter.restore(live, await adapter.snapshot(copy, at), at);
    };
    await restoreOne(input.datastore, recovered, ctx.stagingId);
    // restore_as: cluster: every other database of the recovered cluster, each staged and swapped.
    const others = input.restoreAs === 'cluster' ? ((await siblings?.()) ?? []) : [];
    for (const name of others) {
      const live = adapter.retarget(input.datastore, name);
      await restoreOne(live, adapter.retarget(recovered, name), stagingId(ctx.stagingId, name));
    }
    return undefined;
  }
  const context = { LAZARUS_SERVICE: input.service, LAZARUS_TARGET: adapter.describe(recovered) };
  return validateCopy(
    deps,
    recovered,
    { repository: input.repository, service: input.service, validators: input.validators ?? [], context },
    repo,
    ctx.signal,
  );
}

/**
 * The log's download into `dir`, once `start` is called: `signal` (the activity's
 * cancellation, or the download's failure) stops the replay, which may be waiting for a
 * file; `end` stops what is left of it (files past what the replay read are not needed).
 */
function logDownload(repo: Repository, records: LogRecord[], dir: string, cancellation: AbortSignal) {
  const stopped = new AbortController();
  const signal = AbortSignal.any([cancellation, stopped.signal]);
  let start = () => {};
  const started = new Promise<void>((resolve) => (start = resolve));
  let failure: Error | undefined;
  const done = started
    .then(() => downloadLogs(repo, records, dir, signal))
    .catch((err: Error) => {
      failure ??= err;
      stopped.abort();
    });
  const end = async () => {
    stopped.abort();
    start();
    await done;
  };
  return { signal, start, done, failure: () => failure, end };
}

/**
 * The log's files into `dir`, oldest first (the order a replay reads them), each written
 * under a hidden name and renamed into place whole: a replay reading the directory
 * meanwhile sees a file complete or not at all. Readable by all: the replay's server may
 * run as another OS user.
 */
async function downloadLogs(repo: Repository, records: LogRecord[], dir: string, signal: AbortSignal) {
  for (const record of records) {
    const file = path.join(dir, record.name);
    const arriving = path.join(dir, `.${record.name}.arriving`);
    await pipeline(repo.openSnapshot(record.snapshot), createWriteStream(arriving), { signal });
    await fs.chmod(arriving, 0o644);
    await fs.rename(arriving, file);
  }
}

/** What the engine is told of each file: its record, with its marks read. */
function logFilesOf(repo: Repository, records: LogRecord[]): Promise<LogFile[]> {
  const limit = pLimit(4);
  return Promise.all(
    records.map((record) =>
      limit(async () => ({
        name: record.name,
        sealed: record.sealed,
        lineage: record.lineage,
        start: record.start,
        end: record.end,
        timeQuality: record.timeQuality,
        forkedFrom: record.forkedFrom,
        auxiliary: record.auxiliary,
        marks: await readMarks(repo, record.marks),
      })),
    ),
  );
}

async function readMarks(repo: Repository, ref: LogRecord['marks']): Promise<LogMark[]> {
  let text = '';
  for await (const chunk of repo.openSnapshot(ref)) text += (chunk as Buffer).toString('utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as LogMark);
}

/**
 * The engine's target. A time after the log's last change (the plan checked the log was
 * durable through it) is the latest point: nothing was written in between, and an engine
 * asked to stop at a time past its log's end would report it short.
 */
function replayTargetOf(target: StreamTarget, logs: LogFile[]): ReplayTarget {
  if (target.kind === 'position')
    return { kind: 'position', position: target.position, offset: target.offset };
  if (target.kind === 'time') {
    const lastChange = Math.max(...logs.flatMap((l) => l.marks.map((m) => Date.parse(m.time))));
    if (Date.parse(target.time) > lastChange) return { kind: 'latest' };
  }
  return target;
}

function summary(plan: ReplayPlan): PointPlan {
  const own = plan.logs.filter((l) => !l.auxiliary);
  return {
    base: plan.base.id,
    baseConsistentAt: plan.base.consistentAt,
    lineage: plan.lineage,
    files: plan.logs.length,
    logBytes: own.reduce((n, l) => n + (l.end.offset - l.start.offset), 0),
  };
}
