/**
 * PostgreSQL continuous capture (datastores/postgres/capture), driven directly against
 * throwaway sources (tools/postgres-source.ts): pg_receivewal into a spool, a base, and
 * replays on scratch servers checked row by row against the source's commit timestamps.
 * "Upload" is a copy of the spool's files into a directory standing for the repository.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createReadStream, createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { Client } from 'pg';
import type { CaptureSession, LogFile, LogPoint, ReplayTarget } from '../datastores/capture';
import { postgresCaptureEngine as engine, type PostgresRecovered } from '../datastores/postgres/capture';
import type { PostgresStore } from '../datastores/postgres/capture/connection';
import { postgresAdapter } from '../datastores/postgres/adapter';
import { startPostgresSource, type PostgresSource } from '../tools/postgres-source';

jest.setTimeout(170_000);

const STREAM = 'lazarus_pitr_test';
let root: string;
let source: PostgresSource;
let basePath: string;
const sessions: CaptureSession[] = [];
const repo = new Map<string, LogFile>();
let repoDir: string;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'lz-pitr-pg-'));
  await fs.chmod(root, 0o755); // the servers run as postgres: they must reach their directories
  repoDir = path.join(root, 'repo');
  await fs.mkdir(repoDir);
  source = await startPostgresSource({ dir: path.join(root, 'source') });
  await sql(
    source.store,
    'CREATE TABLE ticks (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())',
  );
});

afterAll(async () => {
  for (const session of sessions) await session.stop().catch(() => {});
  await source?.stop();
  await fs.rm(root, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------
// helpers

async function sql<T = Record<string, unknown>>(store: PostgresStore, text: string, params: unknown[] = []) {
  const client = new Client({
    host: store.host,
    port: store.port,
    user: store.user,
    database: store.database,
  });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One row every 10 ms, each acknowledged commit logged with the time it was acknowledged. */
class TickWriter {
  readonly acked: Array<{ id: number; at: number }> = [];
  private stopped = false;
  private readonly done: Promise<void>;
  error?: Error;

  constructor(store: PostgresStore) {
    this.done = this.run(store);
  }

  private async run(store: PostgresStore): Promise<void> {
    const client = new Client({
      host: store.host,
      port: store.port,
      user: store.user,
      database: store.database,
    });
    client.on('error', () => {});
    await client.connect();
    try {
      while (!this.stopped) {
        const { rows } = await client.query<{ id: string }>('INSERT INTO ticks DEFAULT VALUES RETURNING id');
        this.acked.push({ id: Number(rows[0].id), at: Date.now() });
        await sleep(10);
      }
    } catch (err) {
      this.error = err as Error;
    } finally {
      await client.end().catch(() => {});
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

async function startSession(spool: string, resumeFrom?: LogPoint & { lineage: string; file?: string }) {
  const session = await engine.capture(source.store, {
    spool,
    streamName: STREAM,
    signal: new AbortController().signal,
    ...(resumeFrom ? { resumeFrom } : {}),
  });
  session.ended.catch(() => {});
  sessions.push(session);
  return session;
}

/** Waits until the spool holds, durably, everything the source has committed. */
async function waitDurable(session: CaptureSession): Promise<LogFile[]> {
  const head = await engine.head(source.store);
  for (let i = 0; i < 100; i++) {
    const files = await session.files();
    if (files.some((f) => f.lineage === head.lineage && f.end.offset >= head.offset)) return files;
    await sleep(100);
  }
  throw new Error(`capture did not reach the head ${head.position} within 10 s`);
}

/** The generic layer's upload, by hand: each listed file copied into the repository directory. */
async function upload(spool: string, files: LogFile[]): Promise<void> {
  for (const file of files) {
    await fs.copyFile(path.join(spool, file.name), path.join(repoDir, file.name));
    await fs.chmod(path.join(repoDir, file.name), 0o644);
    repo.set(file.name, file);
  }
}

/** The uploaded files (a .partial dropped once its sealed version is there), oldest first. */
function logs(keep: (file: LogFile) => boolean = () => true): LogFile[] {
  return [...repo.values()]
    .filter((f) => !(f.name.endsWith('.partial') && repo.has(f.name.slice(0, -'.partial'.length))))
    .filter(keep)
    .sort(
      (a, b) =>
        a.start.offset - b.start.offset ||
        Number(!a.name.endsWith('.history')) - Number(!b.name.endsWith('.history')),
    );
}

let replays = 0;
function replayTo(target: ReplayTarget, files: LogFile[] = logs()): Promise<PostgresRecovered> {
  return engine.replay({
    store: source.store,
    workDir: path.join(root, `replay-${++replays}`),
    openBase: () => createReadStream(basePath),
    logDir: repoDir,
    logs: files,
    target,
    signal: new AbortController().signal,
  }) as Promise<PostgresRecovered>;
}

const ids = async (store: PostgresStore) =>
  (await sql<{ id: string }>(store, 'SELECT id FROM ticks')).map((r) => Number(r.id));

/** µs since the epoch of an ISO time with up to 6 fraction digits. */
function micros(iso: string): number {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso)!;
  return Date.parse(`${match[1]}Z`) * 1000 + Number((match[2] ?? '').padEnd(6, '0').slice(0, 6));
}

interface Commit {
  id: number;
  ts: string;
}

const COMMIT_TS = `to_char(pg_xact_commit_timestamp(xmin) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
async function commits(store: PostgresStore): Promise<Commit[]> {
  const rows = await sql<{ id: string; ts: string }>(
    store,
    `SELECT id, ${COMMIT_TS} AS ts FROM ticks ORDER BY id`,
  );
  return rows.map((r) => ({ id: Number(r.id), ts: r.ts }));
}

/** Restored against expected: the figures, printed, and asserted 0 missing, 0 extra. */
function compare(label: string, expected: number[], restored: number[]) {
  const have = new Set(restored);
  const want = new Set(expected);
  const missing = expected.filter((id) => !have.has(id)).length;
  const extra = restored.filter((id) => !want.has(id)).length;
  console.log(`${label}: expected ${want.size}, restored ${have.size}, missing ${missing}, extra ${extra}`);
  expect({ missing, extra }).toEqual({ missing: 0, extra: 0 });
}

/** Within a lineage, each sealed file ends where the next one starts (one version of each name). */
function assertContinuous(files: LogFile[]): void {
  const byLineage = new Map<string, LogFile[]>();
  for (const f of files.filter((f) => !f.name.endsWith('.history')))
    byLineage.set(f.lineage, [...(byLineage.get(f.lineage) ?? []), f]);
  for (const chain of byLineage.values())
    for (let i = 1; i < chain.length; i++) expect(chain[i].start.offset).toBe(chain[i - 1].end.offset);
}

// ---------------------------------------------------------------------------------------

describe('PostgreSQL capture engine', () => {
  let spool1: string;
  let session1: CaptureSession;
  let writer: TickWriter;
  const switches: string[] = [];
  let mark: LogPoint;

  test('preflight: a prepared source needs nothing; an unprepared one names each setting with its fix', async () => {
    expect(await engine.preflight(source.store)).toEqual([]);
    const bare = await startPostgresSource({ dir: path.join(root, 'bare'), unprepared: true });
    try {
      const missing = await engine.preflight(bare.store);
      for (const r of missing)
        console.log(`unprepared: ${r.setting}: found ${r.found}; needed ${r.needed}; fix: ${r.fix}`);
      const settings = missing.map((r) => r.setting);
      expect(settings).toEqual(
        expect.arrayContaining([
          'wal_level',
          'max_wal_senders',
          'max_replication_slots',
          'max_slot_wal_keep_size',
          'pg_hba.conf',
        ]),
      );
      for (const r of missing) expect(r.fix).toMatch(/\S/);
      expect(missing.find((r) => r.setting === 'wal_level')?.fix).toMatch(
        /ALTER SYSTEM SET wal_level = replica/,
      );
    } finally {
      await bare.stop();
    }
    // The machine's shared server: read only, printed, never changed.
    const shared: PostgresStore = {
      kind: 'postgres',
      host: '127.0.0.1',
      port: 5432,
      user: 'postgres',
      database: 'postgres',
    };
    const said = await engine
      .preflight(shared)
      .catch((err: Error) => [{ setting: 'connection', found: err.message, needed: '', fix: '' }]);
    for (const r of said)
      console.log(`shared 5432: ${r.setting}: found ${r.found}; needed ${r.needed}; fix: ${r.fix}`);
  });

  test('capture, base, and five targets replayed exactly to T (0 missing, 0 extra)', async () => {
    spool1 = path.join(root, 'spool1');
    session1 = await startSession(spool1);
    writer = new TickWriter(source.store);
    await sleep(500);
    const basePathFile = path.join(root, 'base.tar');
    const base = await engine.takeBase(source.store, {
      scratchDir: root,
      signal: new AbortController().signal,
    });
    await pipeline(base.data, createWriteStream(basePathFile));
    const { start, end, lineage } = await base.done;
    basePath = basePathFile;
    console.log(
      `base: ${start.position} .. ${end.position} (${lineage}), ${(await fs.stat(basePath)).size} bytes`,
    );
    for (const pause of [1500, 1500]) {
      await sleep(pause);
      const [row] = await sql<{ at: string }>(
        source.store,
        `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, pg_switch_wal()`,
      );
      switches.push(row.at);
    }
    await sleep(700);
    mark = await engine.mark(source.store, 'lz_test_mark');
    await sleep(1000);
    await writer.stop();
    expect(writer.error).toBeUndefined();
    const files = await waitDurable(session1);
    await upload(spool1, files);
    expect(files.some((f) => f.sealed)).toBe(true);
    assertContinuous(logs());

    const all = (await commits(source.store)).filter((c) => micros(c.ts) > micros(end.time!));
    const afterSwitch = (at: string) => all.find((c) => micros(c.ts) > micros(at))!.ts;
    const pick = (fraction: number) => all[Math.floor(all.length * fraction)].ts;
    const ms = (iso: string, plus: number) => new Date(Math.floor(micros(iso) / 1000) + plus).toISOString();
    const targets = [
      { why: 'first commit after rotation 1 (µs, inclusive)', time: afterSwitch(switches[0]) },
      { why: '3 ms after rotation 2', time: ms(switches[1], 3) },
      { why: 'sub-second, between commits', time: ms(pick(0.3 + Math.random() * 0.2), 4) },
      {
        why: 'sub-second, random',
        time: ms(pick(0.6 + Math.random() * 0.3), Math.floor(Math.random() * 10)),
      },
      { why: 'whole second', time: new Date(Math.floor(micros(pick(0.5)) / 1e6) * 1000).toISOString() },
    ];
    const source_ = await commits(source.store);
    for (const { why, time } of targets) {
      const recovered = await replayTo({ kind: 'time', time });
      try {
        const expected = source_.filter((c) => micros(c.ts) <= micros(time)).map((c) => c.id);
        compare(
          `T=${time} (${why}); reached ${recovered.reached.position} ${recovered.reached.time}`,
          expected,
          await ids(recovered.store),
        );
        expect(micros(recovered.reached.time!)).toBeLessThanOrEqual(micros(time));
      } finally {
        await recovered.stop();
      }
    }
  });

  test('mark: replay to a restore point gives exactly the commits before it', async () => {
    const recovered = await replayTo({ kind: 'name', name: 'lz_test_mark' });
    try {
      // The commits before the restore point, in WAL order, by the capture's own marks.
      const before = new Set(
        logs()
          .flatMap((f) => f.marks)
          .filter((m) => m.offset < mark.offset)
          .map((m) => micros(m.time)),
      );
      const expected = (await commits(source.store)).filter((c) => before.has(micros(c.ts))).map((c) => c.id);
      compare(`mark lz_test_mark at ${mark.position} ${mark.time}`, expected, await ids(recovered.store));
      // The ordinary adapter reads the recovered store as it is.
      expect(await postgresAdapter.count!(recovered.store, 'ticks')).toBe(expected.length);
    } finally {
      await recovered.stop();
    }
  });

  test('latest gives every acknowledged row; a position target; targets past the log fail clearly', async () => {
    const latest = await replayTo({ kind: 'latest' });
    try {
      compare(
        'latest',
        writer.acked.map((a) => a.id),
        await ids(latest.store),
      );
    } finally {
      await latest.stop();
    }
    const [middle] = logs()
      .flatMap((f) => f.marks)
      .slice(-50);
    const byPosition = await replayTo({ kind: 'position', position: middle.position, offset: middle.offset });
    try {
      const expected = (await commits(source.store))
        .filter((c) => micros(c.ts) <= micros(middle.time))
        .map((c) => c.id);
      compare(`position ${middle.position}`, expected, await ids(byPosition.store));
    } finally {
      await byPosition.stop();
    }
    const future = new Date(Date.now() + 60_000).toISOString();
    await expect(replayTo({ kind: 'time', time: future })).rejects.toThrow(
      /fell short|ends before the target/,
    );
    const last = logs().at(-1)!;
    await expect(
      replayTo({ kind: 'position', position: '0/7FFFFFF0', offset: 0x7ffffff0 }, logs()),
    ).rejects.toThrow(/fell short|short of/);
    await expect(replayTo({ kind: 'name', name: 'lz_no_such_mark' })).rejects.toThrow(/fell short|short of/);
    console.log(
      `past the log: time ${future}, position 0/7FFFFFF0 and an unknown mark all refused (log ends in ${last.name})`,
    );
  });

  test('crash: the source SIGKILLed under a writer; capture resumed; acknowledged commits missing span <= 1 s', async () => {
    writer = new TickWriter(source.store);
    await sleep(1500);
    await source.kill();
    await writer.stop();
    await expect(session1.ended).rejects.toThrow(/pg_receivewal/);
    await upload(spool1, await session1.files());
    // What the capture held when the source died (the source never coming back)...
    await expectLostSpan('crash, as captured at the kill', await replayTo({ kind: 'latest' }));
    // ...and after it restarted (crash recovery) and a new session resumed.
    const durable = logs((f) => !f.name.endsWith('.history')).at(-1)!;
    await source.restart();
    session1 = await startSession(spool1, { ...durable.end, lineage: durable.lineage, file: durable.name });
    await upload(spool1, await waitDurable(session1));
    assertContinuous(logs());
    await expectLostSpan('crash, after restart and resume', await replayTo({ kind: 'latest' }));
  });

  /** Acknowledged commits missing from a replay to latest: their span (first to last ack) at most 1 s. */
  async function expectLostSpan(label: string, recovered: PostgresRecovered): Promise<void> {
    try {
      const have = new Set(await ids(recovered.store));
      const lost = writer.acked.filter((a) => !have.has(a.id));
      const span = lost.length ? lost.at(-1)!.at - lost[0].at : 0;
      console.log(`${label}: ${writer.acked.length} acknowledged, ${lost.length} missing, span ${span} ms`);
      expect(span).toBeLessThanOrEqual(1000);
    } finally {
      await recovered.stop();
    }
  }

  test('capture killed and the source restarted: a new session with resumeFrom continues with no gap', async () => {
    writer = new TickWriter(source.store);
    await sleep(800);
    await upload(spool1, await session1.files());
    const durable = logs((f) => !f.name.endsWith('.history')).at(-1)!;
    killReceiver(spool1);
    await expect(session1.ended).rejects.toThrow(/pg_receivewal/);
    await sleep(1000); // written while capture is down: the slot keeps it
    await writer.stop();
    await source.server.stop();
    await source.restart();
    writer = new TickWriter(source.store);
    await sleep(800);
    // Another worker: a fresh spool, only the durable point to go on.
    const spool2 = path.join(root, 'spool2');
    const resumed = await startSession(spool2, {
      ...durable.end,
      lineage: durable.lineage,
      file: durable.name,
    });
    await sleep(500);
    await writer.stop();
    const files = await waitDurable(resumed);
    const first = files.filter((f) => !f.name.endsWith('.history'))[0];
    console.log(
      `resume: durable ${durable.name} to ${durable.end.position}; new session starts ${first.name} at ${first.start.position}`,
    );
    expect(first.name.replace('.partial', '')).toBe(durable.name.replace('.partial', ''));
    expect(first.start.offset).toBeLessThanOrEqual(durable.end.offset);
    await upload(spool2, files);
    assertContinuous(logs());
    await resumed.stop();
    const recovered = await replayTo({ kind: 'latest' });
    try {
      const have = new Set(await ids(recovered.store));
      const all = await ids(source.store);
      console.log(
        `resume: ${all.length} rows on the source, ${all.filter((id) => !have.has(id)).length} missing after replay`,
      );
      expect(all.filter((id) => !have.has(id))).toEqual([]);
    } finally {
      await recovered.stop();
    }
    spool1 = spool2;
  });

  test('timeline fork: the source cut over to timeline 2; targets on timeline 1 past the fork and on timeline 2 replay', async () => {
    const spool = path.join(root, 'spool3');
    let session = await startSession(spool, lastDurable());
    writer = new TickWriter(source.store);
    await sleep(1500);
    const forkAt = (await commits(source.store)).at(-1)!.ts;
    // Timeline 1 goes on past the fork into a segment of its own: after the cut-over
    // that segment is a branch the server left, set aside by the next session.
    await sleep(500);
    await sql(source.store, 'SELECT pg_switch_wal()');
    await sleep(1500);
    await writer.stop();
    await upload(spool, await waitDurable(session));
    const timeline1 = await commits(source.store);
    const lineage1 = lastDurable().lineage;
    const onTimeline1 = timeline1.filter((c) => micros(c.ts) > micros(forkAt));
    // Cut-over: the source becomes a restore of itself to forkAt, promoted (timeline 2).
    await source.server.stop();
    await session.ended.catch(() => {});
    await upload(spool, await session.files());
    const cut = await replayTo({ kind: 'time', time: forkAt });
    await cut.shutdown();
    await fs.rm(source.dataDir, { recursive: true, force: true });
    await fs.rename(cut.dataDir, source.dataDir);
    await source.restart();
    session = await startSession(spool, lastDurable());
    writer = new TickWriter(source.store);
    await sleep(1500);
    await writer.stop();
    const files = await waitDurable(session);
    await upload(spool, files);
    await session.stop();
    const lineage2 = (await engine.head(source.store)).lineage;
    console.log(
      `fork at ${forkAt}: ${lineage1} -> ${lineage2}; files ${logs()
        .map((f) => f.name)
        .join(' ')}`,
    );
    expect(lineage2).not.toBe(lineage1);
    expect(repo.has('00000002.history')).toBe(true);
    const setAside = await fs.readdir(path.join(spool, '.superseded'));
    console.log(`fork: set aside in the spool (timeline 1 past the fork): ${setAside.join(' ')}`);
    expect(setAside.length).toBeGreaterThan(0);
    assertContinuous(logs());

    const t1 = onTimeline1[Math.floor(onTimeline1.length / 2)].ts;
    const old = await replayTo(
      { kind: 'time', time: t1 },
      logs((f) => f.lineage === lineage1),
    );
    try {
      const expected = timeline1.filter((c) => micros(c.ts) <= micros(t1)).map((c) => c.id);
      compare(`timeline 1 past the fork, T=${t1}`, expected, await ids(old.store));
    } finally {
      await old.stop();
    }
    const timeline2 = await commits(source.store);
    const t2 = timeline2[timeline2.length - 20].ts;
    const fork = Math.max(...logs((f) => f.lineage === lineage2).map((f) => f.start.offset));
    const onNew = logs((f) => f.lineage === lineage2 || (f.lineage === lineage1 && f.start.offset < fork));
    const recovered = await replayTo({ kind: 'time', time: t2 }, onNew);
    try {
      const expected = timeline2.filter((c) => micros(c.ts) <= micros(t2)).map((c) => c.id);
      compare(`timeline 2, T=${t2}`, expected, await ids(recovered.store));
    } finally {
      await recovered.stop();
    }
    await engine.release!(source.store, STREAM);
    expect(
      await sql(source.store, 'SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [STREAM]),
    ).toEqual([]);
  });
});

/** The newest durable point in the repository, as the generic layer would hand it on. */
function lastDurable(): LogPoint & { lineage: string; file: string } {
  const newest = logs((f) => !f.name.endsWith('.history')).at(-1)!;
  return { ...newest.end, lineage: newest.lineage, file: newest.name };
}

/** SIGKILL to the pg_receivewal this test's session started (found by its spool directory). */
function killReceiver(spool: string): void {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    const cmdline = (() => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        return '';
      }
    })();
    if (cmdline.includes('pg_receivewal') && cmdline.includes(spool)) process.kill(Number(pid), 'SIGKILL');
  }
}
