/**
 * Continuous capture's activities, over any kind's CaptureEngine: the preflight, a base
 * backup, a capture session that uploads the growing log every second and heartbeats its
 * durable point, the stream's state for the workflow and `pitr status`, and a group
 * checkpoint. A session resumes from its last heartbeat (another worker's too), so a killed
 * worker, a restarted source or a dropped connection costs a retry, never a gap.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { BaseRecord, CheckpointRecord, LogFile, LogPoint, LogRecord } from '../contracts/streams';
import type { RepositorySpec } from '../contracts/repository-spec';
import { CaptureGapError } from '../datastores/capture';
import type { CaptureEngine, CaptureSession, Requirement } from '../datastores/capture';
import type { Datastore, Hook } from '../model/manifest';
import { lagBehind, timelineOf, type StreamTimeline } from '../model/timeline';
import { releaseLock, whileLocked } from '../repository/records/locks';
import type { Repository } from '../repository/repository';
import type { FeatureDeps } from './deps';
import { withHeartbeats } from './support';

export interface StreamInput {
  repository: RepositorySpec;
  app: string;
  service: string;
  datastore: Datastore;
}

/** Where a session got to: what the next one resumes from. */
export type DurablePoint = LogPoint & { lineage: string; file?: string };

export interface SessionInput extends StreamInput {
  /** Names what the engine keeps on the source (a replication slot): stable per stream. */
  streamName: string;
  resumeFrom?: DurablePoint;
  sessionMs: number;
  uploadEveryMs: number;
}

/** A session's uploads: what re-storing the growing files cost (the chunker keeps it to their new chunks). */
export interface SessionOutput {
  durable?: DurablePoint;
  uploads: number;
  bytesRead: number;
  bytesNew: number;
  bytesStored: number;
}

export interface StreamState {
  timeline: StreamTimeline;
  bases: number;
  newestBaseAt?: string;
  /** The source's head against the durable point: the RPO now. */
  head?: LogPoint & { lineage: string };
  lagBytes?: number;
  lagSeconds?: number;
  /** Why a new base is due: none yet, the newest is older than base_every, a gap after it, a new lineage. */
  baseDue?: string;
}

export interface CheckpointInput {
  repository: RepositorySpec;
  app: string;
  group: string;
  name: string;
  members: Array<{ service: string; datastore: Datastore }>;
  /** The group's pause gate: with it held, the checkpoint is an exact cut. */
  pause?: Hook;
  resume?: Hook;
}

type CaptureDeps = Pick<FeatureDeps, 'captureEngineFor' | 'repositories' | 'scratchDir' | 'runHookOnce'>;

export function captureActivities(deps: CaptureDeps) {
  const engineOf = <D extends Datastore>(store: D): CaptureEngine<D> => {
    const engine = deps.captureEngineFor(store);
    if (!engine) throw ApplicationFailure.nonRetryable(`a ${store.kind} store has no continuous capture`);
    return engine;
  };
  const spoolOf = (input: StreamInput) =>
    path.join(deps.scratchDir ?? os.tmpdir(), 'lazarus-capture', input.app, input.service);

  return {
    /** The source's missing settings, each with its fix: capture does not start while any is listed. */
    async capturePreflight(input: { datastore: Datastore }): Promise<Requirement[]> {
      return engineOf(input.datastore).preflight(input.datastore);
    },

    /** A base backup stored and recorded under `baseId` (a retry finds it recorded). */
    async captureBase(input: StreamInput & { baseId: string }): Promise<BaseRecord> {
      const repo = await deps.repositories.open(input.repository, true);
      const existing = (await repo.streams.bases(input.app, input.service)).find(
        (b) => b.id === input.baseId,
      );
      if (existing) return existing;
      const engine = engineOf(input.datastore);
      const scratchDir = path.join(spoolOf(input), 'base');
      await fs.mkdir(scratchDir, { recursive: true });
      const signal = Context.current().cancellationSignal;
      try {
        return await withHeartbeats(async () => {
          const takenAt = new Date().toISOString();
          const base = await engine.takeBase(input.datastore, { scratchDir, signal });
          const owner = `capture/${input.app}/${input.service}/base`;
          const snapshot = await whileLocked(repo, 'shared', owner, () =>
            repo.storeSnapshot(base.data),
          ).finally(() => releaseLock(repo, owner));
          const { start, end, lineage } = await base.done;
          const record: BaseRecord = {
            id: input.baseId,
            snapshot,
            lineage,
            start,
            end,
            takenAt,
            consistentAt: end.time ?? new Date().toISOString(),
          };
          await repo.streams.saveBase(input.app, input.service, record);
          return record;
        });
      } finally {
        await fs.rm(scratchDir, { recursive: true, force: true });
      }
    },

    /**
     * Streams the log for up to `sessionMs`, storing every file that grew each
     * `uploadEveryMs`. Fails (to be retried) when the source is lost; the retry resumes
     * from the last heartbeat's durable point.
     */
    async captureSession(input: SessionInput): Promise<SessionOutput> {
      const ctx = Context.current();
      const repo = await deps.repositories.open(input.repository, true);
      const engine = engineOf(input.datastore);
      const resumeFrom = (ctx.info.heartbeatDetails as DurablePoint | undefined) ?? input.resumeFrom;
      const spool = spoolOf(input);
      await fs.mkdir(spool, { recursive: true });
      const owner = `capture/${input.app}/${input.service}`;
      // Released when the session ends: a stopped capture does not hold prune off for half an hour.
      return whileLocked(repo, 'shared', owner, async () => {
        const session = await engine.capture(input.datastore, {
          spool,
          resumeFrom,
          streamName: input.streamName,
          signal: ctx.cancellationSignal,
        });
        const uploader = new TailUploader(repo, input, spool);
        return runSession(session, uploader, input, resumeFrom);
      }).finally(() => releaseLock(repo, owner));
    },

    /** The stream's timeline, the RPO measured now, and whether a new base is due. */
    async streamState(input: StreamInput & { baseEveryMs: number }): Promise<StreamState> {
      const repo = await deps.repositories.open(input.repository, true);
      const bases = await repo.streams.bases(input.app, input.service);
      const timeline = timelineOf(bases, await repo.streams.logs(input.app, input.service));
      const head = await engineOf(input.datastore)
        .head(input.datastore)
        .catch(() => undefined);
      return { ...stateOf(bases, timeline, head, input.baseEveryMs) };
    },

    /**
     * Every member's position at one instant, recorded as one checkpoint with the measured
     * skew; inside the group's pause gate when it has one (then an exact cut).
     */
    async groupCheckpoint(input: CheckpointInput): Promise<CheckpointRecord> {
      const repo = await deps.repositories.open(input.repository, true);
      const context = { LAZARUS_APP: input.app, LAZARUS_GROUP: input.group, LAZARUS_CHECKPOINT: input.name };
      const signal = Context.current().cancellationSignal;
      const paused = input.pause ? await deps.runHookOnce(input.pause, context, signal) : undefined;
      if (paused && !paused.ok) throw new Error(`the pause hook of ${input.group} failed: ${paused.detail}`);
      let marks: Array<{ service: string; point: LogPoint & { lineage: string }; at: number }>;
      try {
        marks = await Promise.all(
          input.members.map(async ({ service, datastore }) => {
            const started = Date.now();
            const point = await engineOf(datastore).mark(datastore, input.name);
            return { service, point, at: (started + Date.now()) / 2 };
          }),
        );
      } finally {
        if (input.resume) await deps.runHookOnce(input.resume, context, signal);
      }
      const times = marks.map((m) => m.at);
      const record: CheckpointRecord = {
        group: input.group,
        name: input.name,
        at: new Date((Math.min(...times) + Math.max(...times)) / 2).toISOString(),
        skewMs: Math.round(Math.max(...times) - Math.min(...times)),
        paused: paused !== undefined,
        members: Object.fromEntries(marks.map((m) => [m.service, m.point])),
      };
      await repo.streams.saveCheckpoint(input.app, record);
      return record;
    },
  };
}

/** Uploads every `uploadEveryMs` until the session's time is up or its tool ends, then once more. */
async function runSession(
  session: CaptureSession,
  uploader: TailUploader,
  input: SessionInput,
  resumeFrom: DurablePoint | undefined,
): Promise<SessionOutput> {
  const ctx = Context.current();
  let durable = resumeFrom;
  let ended: unknown;
  let stopped = false;
  session.ended.then(
    () => (stopped = true),
    (err: unknown) => {
      stopped = true;
      ended = err ?? new Error('capture ended');
    },
  );
  const started = Date.now();
  const deadline = started + input.sessionMs;
  try {
    for (let tick = 1; !stopped && Date.now() < deadline && !ctx.cancellationSignal.aborted; tick++) {
      // Ticks at a fixed rate: an upload's own time does not push the next one back (a
      // slow one skips the ticks it overran), so the tail is never older than one period.
      const behind = Math.floor((Date.now() - started) / input.uploadEveryMs);
      tick = Math.max(tick, behind + 1);
      await sleep(started + tick * input.uploadEveryMs - Date.now(), ctx.cancellationSignal);
      durable = (await uploader.upload(await session.files())) ?? durable;
      ctx.heartbeat(durable);
    }
  } finally {
    await session.stop().catch(() => {});
  }
  durable = (await uploader.upload(await session.files())) ?? durable;
  ctx.heartbeat(durable);
  // Retrying cannot fill a gap: the workflow starts over at the head and takes a new base.
  if (ended instanceof CaptureGapError) {
    throw ApplicationFailure.nonRetryable(ended.message, 'CaptureGap', { durable });
  }
  if (ended) throw ended;
  const { uploads, bytesRead, bytesNew, bytesStored } = uploader;
  return { durable, uploads, bytesRead, bytesNew, bytesStored };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

/**
 * Stores the spool's files that changed since the last upload. Storing a grown file again
 * costs only its new chunks (the rest deduplicates); sealed files are removed from the
 * spool once stored, but for the newest, which a resuming tool may read.
 */
class TailUploader {
  uploads = 0;
  /** The files' bytes read to store them again; of those, the new chunks' bytes; and what those took stored. */
  bytesRead = 0;
  bytesNew = 0;
  bytesStored = 0;
  /** What this session stored of each file: its last record. */
  private readonly stored = new Map<string, LogRecord>();

  constructor(
    private readonly repo: Repository,
    private readonly input: StreamInput,
    private readonly spool: string,
  ) {}

  /** Stores what grew; returns the durable point after it (the newest file's end). */
  async upload(files: LogFile[]): Promise<DurablePoint | undefined> {
    const durableAt = new Date().toISOString();
    for (const file of files) {
      const last = this.stored.get(file.name);
      // Never replaced by less (a resumed tool rewriting a file from its start): only by more.
      const end = last?.end.offset;
      if (
        end !== undefined &&
        (end > file.end.offset || (end === file.end.offset && last!.sealed === file.sealed))
      )
        continue;
      await this.store(file, durableAt);
    }
    // Everything up to the newest file's end was seen durable now, stored or unchanged.
    const newest = files.filter((f) => !f.auxiliary).at(-1);
    if (newest) await this.touch(newest, durableAt);
    await this.removeSealed(files);
    return newest && { ...newest.end, lineage: newest.lineage, file: newest.name };
  }

  /** Stores the file as it is now; skipped when the tool renamed it away meanwhile (sealed: listed next time). */
  private async store(file: LogFile, durableAt: string): Promise<void> {
    const handle = await fs.open(path.join(this.spool, file.name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!handle) return;
    const { ref: snapshot, stats } = await this.repo
      .storeSnapshotWithStats(handle.createReadStream())
      .finally(() => handle.close().catch(() => {}));
    const marks = await this.repo.storeSnapshot(
      Readable.from(file.marks.map((m) => `${JSON.stringify(m)}\n`)),
    );
    const { marks: list, ...rest } = file;
    const record: LogRecord = {
      ...rest,
      snapshot,
      marks,
      firstTime: list[0]?.time,
      lastTime: list.at(-1)?.time,
      durableAt,
    };
    await this.repo.streams.saveLog(this.input.app, this.input.service, record);
    this.uploads++;
    this.bytesRead += stats.bytes;
    this.bytesNew += stats.newBytes;
    this.bytesStored += stats.storedBytes;
    this.stored.set(file.name, record);
  }

  /** An unchanged newest file: only its durableAt moves (a quiet source is still protected). */
  private async touch(file: LogFile, durableAt: string): Promise<void> {
    const record = this.stored.get(file.name);
    if (!record || record.durableAt === durableAt) return;
    record.durableAt = durableAt;
    await this.repo.streams.saveLog(this.input.app, this.input.service, record);
  }

  private async removeSealed(files: LogFile[]): Promise<void> {
    const sealed = files.filter((f) => f.sealed && !f.auxiliary && this.stored.has(f.name));
    for (const file of sealed.slice(0, -1)) {
      await fs.rm(path.join(this.spool, file.name), { force: true });
    }
  }
}

/** The stream's state: its timeline, the lag behind the source's head, and whether a base is due. */
function stateOf(
  bases: BaseRecord[],
  timeline: StreamTimeline,
  head: (LogPoint & { lineage: string }) | undefined,
  baseEveryMs: number,
): StreamState {
  const newest = bases.at(-1);
  const lag = lagBehind(timeline.durable, head, Date.now());
  return {
    timeline,
    bases: bases.length,
    newestBaseAt: newest?.consistentAt,
    head,
    lagBytes: lag?.bytes,
    lagSeconds: lag?.seconds,
    baseDue: baseDue(newest, timeline, head, baseEveryMs),
  };
}

function baseDue(
  newest: BaseRecord | undefined,
  timeline: StreamTimeline,
  head: (LogPoint & { lineage: string }) | undefined,
  baseEveryMs: number,
): string | undefined {
  if (!newest) return 'no base yet';
  if (Date.now() - Date.parse(newest.takenAt) >= baseEveryMs)
    return 'the newest base is older than base_every';
  const newestEnd = timeline.intervals.filter((i) => i.base === newest.id).at(-1)?.to;
  if (!newestEnd) return 'the newest base is not covered by the captured log';
  if (timeline.durable && newestEnd && Date.parse(timeline.durable.at) > Date.parse(newestEnd) + 1000)
    return `the log has a gap after ${newestEnd}`;
  if (head && !timeline.intervals.some((i) => i.lineage === head.lineage) && timeline.durable)
    return `the source is on a new lineage (${head.lineage})`;
  return undefined;
}
