/**
 * Continuous capture for Redis, driven directly (no Temporal, no repository): throwaway
 * sources (tools/redis-source.ts), the engine's base, sessions and replays. "Download" is
 * copying the spool's files into the replay's logDir; the base is its stream written to a file.
 * Writers push the server's own TIME (µs) onto a list every 10 ms, so that what a replay
 * restored can be checked against when each entry was really written.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import type { LogFile, LogPoint, ReplayTarget } from '../datastores/capture';
import { CaptureGapError, createRedisCaptureEngine } from '../datastores/redis/capture';
import type { RedisCaptureSession } from '../datastores/redis/capture';
import { RespReader, commandWords } from '../datastores/redis/capture/resp';
import type { Datastore } from '../model/manifest';
import { startRedisSource } from '../tools/redis-source';
import type { RedisSource } from '../tools/redis-source';

type RedisStore = Extract<Datastore, { kind: 'redis' }>;

jest.setTimeout(170_000);

// Small files, so that a few seconds of writes rotate through several.
const engine = createRedisCaptureEngine({ segmentBytes: 16 * 1024 });
const PUSH_TIME = `local t = redis.call('TIME')
local v = t[1] .. '.' .. string.format('%06d', t[2])
redis.call('RPUSH', KEYS[1], v)
return v`;

let work: string;
const sources: RedisSource[] = [];
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'pitr-redis-'));
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  for (const source of sources) await source.remove();
  await fs.rm(work, { recursive: true, force: true });
});

async function source(options: Parameters<typeof startRedisSource>[0] = {}): Promise<RedisSource> {
  const started = await startRedisSource(options);
  sources.push(started);
  return started;
}

/** A writer in its own process (redis-cli), so that its pace is not the test's: one entry every 10 ms, each ack printed. */
function cliWriter(store: RedisStore, key: string): { acked: () => string[]; stop: () => Promise<void> } {
  const child = spawn(
    'redis-cli',
    ['-p', String(store.port), '-r', '100000', '-i', '0.01', 'EVAL', PUSH_TIME, '1', key],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    acked: () =>
      out
        .split('\n')
        .map((line) => line.replace(/"/g, '').trim())
        .filter((line) => /^\d+\.\d+$/.test(line)),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A writer in this process that outlives a restart of the source (ioredis reconnects); what was acknowledged. */
function clientWriter(store: RedisStore, key: string): { acked: string[]; stop: () => Promise<void> } {
  const redis = new Redis({ host: store.host, port: store.port, maxRetriesPerRequest: null });
  redis.on('error', () => {});
  const acked: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const value = await redis.eval(PUSH_TIME, 1, key).catch(() => undefined);
      if (typeof value === 'string') acked.push(value);
      await sleep(10);
    }
  })();
  return {
    acked,
    stop: async () => {
      running = false;
      await loop;
      redis.disconnect();
    },
  };
}

async function withClient<T>(store: RedisStore, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ host: store.host, port: store.port, db: store.db, lazyConnect: true });
  await redis.connect();
  try {
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

async function listOf(store: RedisStore, key: string): Promise<string[]> {
  const redis = new Redis({ host: store.host, port: store.port, db: store.db, lazyConnect: true });
  await redis.connect();
  try {
    return await redis.lrange(key, 0, -1);
  } finally {
    redis.disconnect();
  }
}

async function takeBaseFile(
  store: RedisStore,
  name: string,
): Promise<{ file: string; end: LogPoint; lineage: string }> {
  const base = await engine.takeBase(store, { scratchDir: work, signal: new AbortController().signal });
  const file = path.join(work, `${name}.rdb`);
  await pipeline(base.data, createWriteStream(file));
  const { end, lineage } = await base.done;
  return { file, end, lineage };
}

/** Waits until the session's durable end reaches the source's head. */
async function caughtUp(session: RedisCaptureSession, store: RedisStore): Promise<void> {
  const head = await engine.head(store);
  for (let i = 0; i < 100; i++) {
    const files = await session.files();
    if ((files[files.length - 1]?.end.offset ?? -1) >= head.offset) return;
    await sleep(50);
  }
  throw new Error(`capture did not reach the head ${head.offset}`);
}

/** "Downloads" the files: a copy of the spool into a fresh logDir. */
async function download(files: LogFile[], spool: string, name: string): Promise<string> {
  const logDir = path.join(work, `logs-${name}`);
  await fs.mkdir(logDir, { recursive: true });
  for (const file of files) await fs.copyFile(path.join(spool, file.name), path.join(logDir, file.name));
  return logDir;
}

let replays = 0;
async function restoredList(
  store: RedisStore,
  base: string,
  logDir: string,
  logs: LogFile[],
  target: ReplayTarget,
  key: string,
): Promise<{ list: string[]; reached: LogPoint }> {
  const recovered = await engine.replay({
    store,
    workDir: path.join(work, `replay-${++replays}`),
    openBase: () => createReadStream(base),
    logDir,
    logs,
    target,
    signal: new AbortController().signal,
  });
  try {
    return { list: await listOf(recovered.store, key), reached: recovered.reached };
  } finally {
    await recovered.stop();
  }
}

function compare(restored: string[], expected: string[]): { missing: string[]; extra: string[] } {
  const have = new Set(restored);
  const want = new Set(expected);
  return { missing: expected.filter((v) => !have.has(v)), extra: restored.filter((v) => !want.has(v)) };
}

/** Continuity within a lineage: each file starts where the one before it ends. */
function assertContinuous(files: LogFile[]): void {
  const sorted = [...files].sort((a, b) => a.start.offset - b.start.offset);
  for (let i = 1; i < sorted.length; i++) expect(sorted[i].start.offset).toBe(sorted[i - 1].end.offset);
}

/**
 * When each pushed entry arrived (the first receipt mark at or after the command's end in
 * the stream), and the server time (µs) each named mark's PUBLISH carries.
 */
async function readLog(
  files: LogFile[],
  logDir: string,
): Promise<{ arrivals: Map<string, number>; markTimes: Map<string, string> }> {
  const arrivals = new Map<string, number>();
  const markTimes = new Map<string, string>();
  const marks = files.flatMap((file) => file.marks).sort((a, b) => a.offset - b.offset);
  for (const file of [...files].sort((a, b) => a.start.offset - b.start.offset)) {
    const reader = new RespReader();
    const length = file.end.offset - file.start.offset;
    if (length === 0) continue;
    for await (const bytes of createReadStream(path.join(logDir, file.name), { end: length - 1 })) {
      reader.feed(bytes as Buffer, (value, end) => {
        const words = commandWords(value);
        if (words[0] === 'PUBLISH') {
          const [name, time] = (words[2] ?? '').split(' ');
          markTimes.set(name, time);
        }
        if (words[0] !== 'RPUSH') return;
        const mark = marks.find((m) => m.offset >= file.start.offset + end);
        if (mark && words[2]) arrivals.set(words[2], Date.parse(mark.time));
      });
    }
  }
  return { arrivals, markTimes };
}

/** The stream offset just after the first MULTI: a point inside a transaction. */
async function firstMultiEnd(files: LogFile[], logDir: string): Promise<number> {
  for (const file of files) {
    const reader = new RespReader();
    let found: number | undefined;
    for await (const bytes of createReadStream(path.join(logDir, file.name))) {
      reader.feed(bytes as Buffer, (value, end) => {
        if (found === undefined && commandWords(value)[0] === 'MULTI') found = file.start.offset + end;
      });
      if (found !== undefined) return found;
    }
  }
  throw new Error('no MULTI in the log');
}

const seconds = (value: string) => Number(value);
const iso = (ms: number) => new Date(ms).toISOString();

describe('Redis capture engine', () => {
  test('exact to T: five targets (sub-second, right after rotations), mark, and targets past the log', async () => {
    const src = await source();
    const writer = cliWriter(src.store, 'ticks');
    cleanups.push(writer.stop);
    await sleep(800);
    const base = await takeBaseFile(src.store, 'exact');
    const spool = path.join(work, 'spool-exact');
    const session = await engine.capture(src.store, {
      spool,
      resumeFrom: { ...base.end, lineage: base.lineage },
      streamName: 'exact',
      signal: new AbortController().signal,
    });
    cleanups.push(() => session.stop());
    await sleep(3000);
    await session.rotate();
    await sleep(2000);
    const mark = await engine.mark(src.store, 'lz_gp_1');
    await sleep(5000);
    await writer.stop();
    await caughtUp(session, src.store);
    await sleep(1200); // an idle second: its receipt mark says nothing more came
    await session.stop();
    const files = await session.files();
    expect(files.length).toBeGreaterThanOrEqual(3);
    expect(files.every((f) => f.sealed && f.timeQuality === 'receipt' && f.lineage === base.lineage)).toBe(
      true,
    );
    assertContinuous(files);
    expect(files[0].start.offset).toBe(base.end.offset);
    const logDir = await download(files, spool, 'exact');
    const all = await listOf(src.store, 'ticks');
    const { arrivals, markTimes } = await readLog(files, logDir);

    // Receipt minus server time, for every entry the stream carried.
    const lags = all
      .filter((v) => arrivals.has(v))
      .map((v) => (arrivals.get(v) as number) - seconds(v) * 1000)
      .sort((a, b) => a - b);
    const pct = (p: number) => lags[Math.min(lags.length - 1, Math.floor(lags.length * p))].toFixed(2);
    console.log(
      `redis receipt − server TIME over ${lags.length} entries: min ${lags[0].toFixed(2)} ms, p50 ${pct(0.5)}, p99 ${pct(0.99)}, max ${lags[lags.length - 1].toFixed(2)} ms`,
    );

    const firstMark = Date.parse(files[0].marks[0].time);
    const lastMark = Date.parse(files[files.length - 1].marks.slice(-1)[0].time);
    const random = (from: number, to: number) => from + Math.random() * (to - from);
    const targets = [
      Math.floor(random(firstMark + 500, lastMark - 1500) / 1000) * 1000, // a whole second
      random(firstMark + 200, lastMark - 1500), // sub-second
      random(firstMark + 200, lastMark - 1500),
      Date.parse(files[1].marks[0].time) + 3, // just after the first rotation
      Date.parse(files[files.length - 1].marks[0].time) + 7, // just after the last one
    ].map((t) => Math.round(t));
    const rows: string[] = [];
    for (const t of targets) {
      const { list, reached } = await restoredList(
        src.store,
        base.file,
        logDir,
        files,
        { kind: 'time', time: iso(t) },
        'ticks',
      );
      const bySeverTime = all.filter((v) => seconds(v) * 1000 <= t);
      const byReceipt = all.filter((v) => seconds(v) * 1000 <= t && (arrivals.get(v) ?? 0) <= t);
      const { missing, extra } = compare(list, bySeverTime);
      const inFlight = bySeverTime.length - byReceipt.length;
      rows.push(
        `T=${iso(t)} expected=${bySeverTime.length} restored=${list.length} missing=${missing.length} extra=${extra.length} ` +
          `in-flight-at-T=${inFlight} reached=${reached.offset}`,
      );
      // Never an entry written after T; missing only what was written before T but had not arrived by T.
      expect(extra).toEqual([]);
      expect(list).toEqual(byReceipt);
      expect(missing.length).toBe(inFlight);
    }
    console.log(`redis exact-to-T:\n  ${rows.join('\n  ')}`);

    // A mark: PUBLISH with the server's TIME, atomically; the replay stops right after it.
    const byName = await restoredList(
      src.store,
      base.file,
      logDir,
      files,
      { kind: 'name', name: 'lz_gp_1' },
      'ticks',
    );
    const markedAt = seconds(markTimes.get('lz_gp_1') ?? 'NaN');
    const beforeMark = all.filter((v) => seconds(v) < markedAt);
    const markDiff = compare(byName.list, beforeMark);
    console.log(
      `redis mark lz_gp_1 at ${markedAt} (server TIME; head after it ${mark.offset}, replay stopped at ${byName.reached.offset}): ` +
        `expected=${beforeMark.length} restored=${byName.list.length} missing=${markDiff.missing.length} extra=${markDiff.extra.length}`,
    );
    expect(markDiff).toEqual({ missing: [], extra: [] });
    expect(byName.reached.offset).toBeLessThanOrEqual(mark.offset);

    // A position from the log's own marks, and latest.
    const middle = files[1].marks[Math.floor(files[1].marks.length / 2)];
    const byPosition = await restoredList(
      src.store,
      base.file,
      logDir,
      files,
      { kind: 'position', position: middle.position, offset: middle.offset },
      'ticks',
    );
    expect(byPosition.reached.offset).toBe(middle.offset);
    expect(byPosition.list).toEqual(all.filter((v) => (arrivals.get(v) ?? 0) <= Date.parse(middle.time)));
    const latest = await restoredList(src.store, base.file, logDir, files, { kind: 'latest' }, 'ticks');
    expect(latest.list).toEqual(all);

    // Targets the captured log does not reach.
    const lastEnd = files[files.length - 1].end.offset;
    const replayTo = (target: ReplayTarget) =>
      restoredList(src.store, base.file, logDir, files, target, 'ticks');
    await expect(replayTo({ kind: 'time', time: iso(lastMark + 60_000) })).rejects.toThrow(
      /past the captured log/,
    );
    await expect(
      replayTo({ kind: 'position', position: String(lastEnd + 10), offset: lastEnd + 10 }),
    ).rejects.toThrow(/outside the captured log/);
    await expect(replayTo({ kind: 'position', position: 'x', offset: middle.offset + 3 })).rejects.toThrow(
      /inside a command/,
    );
    await expect(replayTo({ kind: 'name', name: 'never_marked' })).rejects.toThrow(
      /no mark named "never_marked"/,
    );
    await expect(replayTo({ kind: 'time', time: iso(firstMark - 3_600_000) })).rejects.toThrow(
      /before the base/,
    );
    // A hole in the log: the second file missing.
    const holed = files.filter((_, i) => i !== 1);
    await expect(
      restoredList(src.store, base.file, logDir, holed, { kind: 'time', time: iso(lastMark - 100) }, 'ticks'),
    ).rejects.toThrow(/gap after offset/);
  });

  test('crash: the source SIGKILLed under a writer; replay to latest misses at most 1 s of acknowledged writes', async () => {
    // Disk-based full resyncs: the base arrives in the `$<len>` form.
    const src = await source({ args: ['--repl-diskless-sync', 'no'] });
    const writer = cliWriter(src.store, 'ticks');
    cleanups.push(writer.stop);
    await sleep(500);
    const base = await takeBaseFile(src.store, 'crash');
    const spool = path.join(work, 'spool-crash');
    const session = await engine.capture(src.store, {
      spool,
      resumeFrom: { ...base.end, lineage: base.lineage },
      streamName: 'crash',
      signal: new AbortController().signal,
    });
    await sleep(3000);
    await src.kill();
    await expect(session.ended).rejects.toThrow(/replication link to .* ended/);
    await writer.stop();
    const acked = writer.acked();
    const files = await session.files();
    assertContinuous(files);

    await src.restart();
    const durable = files[files.length - 1].end;
    await expect(
      engine.capture(src.store, {
        spool,
        resumeFrom: { ...durable, lineage: base.lineage },
        streamName: 'crash',
        signal: new AbortController().signal,
      }),
    ).rejects.toThrow(CaptureGapError);

    const logDir = await download(files, spool, 'crash');
    const { list } = await restoredList(src.store, base.file, logDir, files, { kind: 'latest' }, 'ticks');
    const { missing, extra } = compare(list, acked);
    const span =
      missing.length === 0 ? 0 : (seconds(missing[missing.length - 1]) - seconds(missing[0])) * 1000;
    console.log(
      `redis crash: acknowledged=${acked.length} restored=${list.length} missing=${missing.length} (span ${span.toFixed(1)} ms) ` +
        `unacknowledged-but-restored=${extra.length}; resume after kill -9 refused as a gap (new replid)`,
    );
    expect(span).toBeLessThanOrEqual(1000);
    expect(extra.length).toBeLessThanOrEqual(1);
  });

  test('resume: capture killed, then the source restarted: new sessions continue with no gap', async () => {
    const src = await source();
    const writer = clientWriter(src.store, 'ticks');
    cleanups.push(writer.stop);
    await sleep(300);
    const base = await takeBaseFile(src.store, 'resume');
    const spool = path.join(work, 'spool-resume');
    const start = (resumeFrom: LogPoint & { lineage: string }, signal = new AbortController().signal) =>
      engine.capture(src.store, { spool, resumeFrom, streamName: 'resume', signal });

    const killer = new AbortController();
    const first = await start({ ...base.end, lineage: base.lineage }, killer.signal);
    await sleep(1500);
    killer.abort(new Error('capture killed'));
    await expect(first.ended).rejects.toThrow(/capture killed/);
    const firstFiles = await first.files();
    await sleep(1000); // writes go on while nothing captures

    const resumeAt = (files: LogFile[]) => ({ ...files[files.length - 1].end, lineage: base.lineage });
    const second = await start(resumeAt(firstFiles));
    await sleep(1500);
    const replidBefore = (await engine.head(src.store)).lineage;
    await src.stop(); // SHUTDOWN waits for the capture to catch up, saves the RDB
    await expect(second.ended).rejects.toThrow(/replication link to .* ended/);
    await src.restart();
    const replidAfter = (await engine.head(src.store)).lineage;
    const secondFiles = await second.files();
    const third = await start(resumeAt(secondFiles));
    cleanups.push(() => third.stop());
    await sleep(1500);
    await writer.stop();
    await caughtUp(third, src.store);
    await third.stop();
    const thirdFiles = await third.files();

    const files = [...firstFiles, ...secondFiles, ...thirdFiles];
    assertContinuous(files);
    expect(new Set(files.map((f) => f.name)).size).toBe(files.length);
    expect(files.every((f) => f.lineage === base.lineage)).toBe(true);
    const logDir = await download(files, spool, 'resume');
    // A killed capture's file may hold the start of a command past its durable end: the replay must not read it.
    await fs.appendFile(
      path.join(logDir, firstFiles[firstFiles.length - 1].name),
      '*3\r\n$5\r\nRPUSH\r\n$5\r\nti',
    );
    const { list } = await restoredList(src.store, base.file, logDir, files, { kind: 'latest' }, 'ticks');
    const { missing, extra } = compare(list, writer.acked);
    console.log(
      `redis resume: ${files.length} files over 3 sessions, offsets ${files[0].start.offset}..${thirdFiles.slice(-1)[0].end.offset} continuous; ` +
        `replid ${replidBefore.slice(0, 8)} → ${replidAfter.slice(0, 8)} across the restart (psync2 +CONTINUE); ` +
        `acknowledged=${writer.acked.length} restored=${list.length} missing=${missing.length} extra=${extra.length}`,
    );
    expect(replidAfter).not.toBe(replidBefore);
    expect(missing).toEqual([]);
    expect(list).toEqual(await listOf(src.store, 'ticks'));
  });

  test('backlog overflow: the resume is refused as a gap; a new base continues, and the old chain stops at the gap', async () => {
    const src = await source({ args: ['--repl-backlog-size', '16kb'] });
    const writer = clientWriter(src.store, 'ticks');
    cleanups.push(writer.stop);
    const base = await takeBaseFile(src.store, 'overflow');
    const spool = path.join(work, 'spool-overflow');
    const start = (from: LogPoint & { lineage: string }, signal = new AbortController().signal) =>
      engine.capture(src.store, { spool, resumeFrom: from, streamName: 'overflow', signal });
    const killer = new AbortController();
    const first = await start({ ...base.end, lineage: base.lineage }, killer.signal);
    await sleep(1000);
    killer.abort(new Error('capture killed'));
    await first.ended.catch(() => {});
    const firstFiles = await first.files();
    const durable = firstFiles[firstFiles.length - 1].end;
    // More than the 16 KiB backlog written while nothing captures.
    await withClient(src.store, (redis) => redis.set('filler', 'x'.repeat(40_000)));
    await expect(start({ ...durable, lineage: base.lineage })).rejects.toThrow(/^gap: .*backlog/);

    const rebased = await takeBaseFile(src.store, 'overflow-2');
    expect(rebased.lineage).toBe(base.lineage);
    expect(rebased.end.offset).toBeGreaterThan(durable.offset + 40_000);
    const second = await start({ ...rebased.end, lineage: rebased.lineage });
    cleanups.push(() => second.stop());
    await sleep(1000);
    await writer.stop();
    await caughtUp(second, src.store);
    await sleep(1100);
    await second.stop();
    const files = [...firstFiles, ...(await second.files())];
    const logDir = await download(files, spool, 'overflow');
    const { list } = await restoredList(src.store, rebased.file, logDir, files, { kind: 'latest' }, 'ticks');
    expect(list).toEqual(await listOf(src.store, 'ticks'));
    const after = Date.parse(files[files.length - 1].marks.slice(-1)[0].time);
    await expect(
      restoredList(src.store, base.file, logDir, files, { kind: 'time', time: iso(after) }, 'ticks'),
    ).rejects.toThrow(new RegExp(`gap after offset ${durable.offset}`));
    console.log(
      `redis backlog overflow: durable ${durable.offset}, new base at ${rebased.end.offset} (same lineage): gap of ${rebased.end.offset - durable.offset} bytes refused; ` +
        `replay from the new base to latest = source (${list.length} entries)`,
    );
  });

  test('transactions: no replay target ever restores half of a MULTI/EXEC; a position inside one is refused', async () => {
    const src = await source();
    const base = await takeBaseFile(src.store, 'tx');
    const spool = path.join(work, 'spool-tx');
    const session = await engine.capture(src.store, {
      spool,
      resumeFrom: { ...base.end, lineage: base.lineage },
      streamName: 'tx',
      signal: new AbortController().signal,
    });
    cleanups.push(() => session.stop());
    await withClient(src.store, async (redis) => {
      for (let n = 0; n < 150; n++) {
        // Big enough halves that a transaction spans reads now and then.
        await redis
          .multi()
          .rpush('pairs', `${n}:a:${'x'.repeat(3000)}`)
          .rpush('pairs', `${n}:b`)
          .exec();
        await sleep(10);
      }
    });
    await caughtUp(session, src.store);
    await session.stop();
    const files = await session.files();
    const logDir = await download(files, spool, 'tx');
    const marks = files.flatMap((f) => f.marks);
    const picks = [0.2, 0.4, 0.6, 0.8].map((q) => marks[Math.floor(marks.length * q)]);
    const lengths: number[] = [];
    for (const mark of picks) {
      const { list } = await restoredList(
        src.store,
        base.file,
        logDir,
        files,
        { kind: 'time', time: mark.time },
        'pairs',
      );
      lengths.push(list.length);
      expect(list.length % 2).toBe(0);
    }
    // The byte right after a transaction's MULTI.
    const multiAt = await firstMultiEnd(files, logDir);
    await expect(
      restoredList(
        src.store,
        base.file,
        logDir,
        files,
        { kind: 'position', position: 'x', offset: multiAt },
        'pairs',
      ),
    ).rejects.toThrow(/inside a command or a MULTI\/EXEC/);
    console.log(
      `redis transactions: ${marks.length} marks, restored list lengths ${lengths.join(', ')} (all whole pairs)`,
    );
  });

  test('preflight names what an unprepared source lacks; prints what it says of the shared server', async () => {
    const unprepared = await source({ unprepared: true });
    const found = await engine.preflight(unprepared.store);
    console.log(
      `redis preflight, unprepared throwaway:\n  ${found.map((r) => `${r.setting}: found ${r.found}; needed ${r.needed}; fix: ${r.fix}`).join('\n  ')}`,
    );
    expect(found.map((r) => r.setting).sort()).toEqual(
      [
        'ACL user default',
        'client-output-buffer-limit replica',
        'repl-backlog-size',
        'repl-backlog-ttl',
      ].sort(),
    );
    expect(found.find((r) => r.setting === 'ACL user default')?.found).toMatch(/psync, sync denied/);
    expect(await engine.preflight((await source()).store)).toEqual([]);

    const shared: RedisStore = { kind: 'redis', host: '127.0.0.1', port: 6379, db: 0, staging_db: 15 };
    const sharedFound = await engine.preflight(shared);
    console.log(
      `redis preflight, shared server 127.0.0.1:6379 (read only):\n  ${sharedFound.map((r) => `${r.setting}: found ${r.found}; needed ${r.needed}; fix: ${r.fix}`).join('\n  ') || 'nothing missing'}`,
    );
  });
});
