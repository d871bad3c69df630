/**
 * MariaDB continuous capture (datastores/mariadb/capture), driven directly against
 * throwaway servers (tools/mariadb-source.ts): exact to a time, a mark, a crash of the
 * source, a killed capture tool, unreachable targets, preflight. "Uploading" is copying
 * the spool's files into a log directory; the base is the dump written to a file.
 */
import { promises as fs, createReadStream, createWriteStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import mysql from 'mysql2/promise';
import type { CaptureSession, LogFile, ReplayTarget } from '../datastores/capture';
import { mariadbCaptureEngine as engine } from '../datastores/mariadb/capture';
import type { MariadbStore } from '../datastores/mariadb/capture/server';
import { startMariadbSource, type MariadbSource } from '../tools/mariadb-source';
import { tempDir } from './support/stores';

jest.setTimeout(150_000);

const DATABASE = 'lz';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Microseconds since the epoch of a DATETIME(6) read as text in UTC. */
const micros = (ts: string) =>
  Date.parse(ts.replace(' ', 'T').slice(0, 23) + 'Z') * 1000 + Number(ts.slice(23, 26) || 0);
const seqOf = (position: string) => Number(position.split(' ')[0].split('-')[2]);

interface Row {
  id: number;
  ts: string;
  gtid: string;
}

function connect(store: MariadbStore): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: store.host,
    port: store.port,
    user: store.user,
    database: store.database,
    dateStrings: true,
    multipleStatements: true,
    timezone: 'Z',
  });
}

/** Commits one row every 10 ms, each stamped by the server (NOW(6)); keeps every acknowledged row. */
class Writer {
  readonly acked: Row[] = [];
  private running = true;
  private done: Promise<void>;
  error?: Error;

  constructor(private readonly db: mysql.Connection) {
    this.done = this.loop();
  }

  static async start(store: MariadbStore): Promise<Writer> {
    const db = await connect(store);
    await db.query("SET time_zone = '+00:00'");
    await db.query(
      'CREATE TABLE IF NOT EXISTS ticks (id INT AUTO_INCREMENT PRIMARY KEY, ts DATETIME(6) NOT NULL)',
    );
    return new Writer(db);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        const [results] = await this.db.query<mysql.RowDataPacket[][]>(
          'INSERT INTO ticks (ts) VALUES (NOW(6)); SELECT LAST_INSERT_ID() AS id, @@last_gtid AS gtid, ts FROM ticks WHERE id = LAST_INSERT_ID()',
        );
        const row = results[1][0];
        this.acked.push({ id: Number(row.id), ts: String(row.ts), gtid: String(row.gtid) });
      } catch (err) {
        this.error = err as Error;
        return;
      }
      await sleep(10);
    }
  }

  async stop(): Promise<Row[]> {
    this.running = false;
    await this.done;
    this.db.destroy();
    return this.acked;
  }
}

async function rowsOf(store: MariadbStore): Promise<Row[]> {
  const db = await connect(store);
  try {
    const [rows] = await db.query<mysql.RowDataPacket[]>('SELECT id, ts FROM ticks ORDER BY id');
    return rows.map((r) => ({ id: Number(r.id), ts: String(r.ts), gtid: '' }));
  } finally {
    db.destroy();
  }
}

async function writeBase(store: MariadbStore, file: string) {
  const base = await engine.takeBase(store, {
    scratchDir: path.dirname(file),
    signal: new AbortController().signal,
  });
  await pipeline(base.data, createWriteStream(file));
  return base.done;
}

/** Polls a session's files as the generic layer would, keeping the last listing (what is durable). */
class Follower {
  listing: LogFile[] = [];
  private timer: NodeJS.Timeout;

  constructor(readonly session: CaptureSession) {
    this.timer = setInterval(() => void this.poll(), 200);
  }

  async poll(): Promise<LogFile[]> {
    try {
      this.listing = await this.session.files();
    } catch {
      // The session failed: the last listing is what was durable.
    }
    return this.listing;
  }

  end(): void {
    clearInterval(this.timer);
  }

  durable(): LogFile {
    const last = this.listing.at(-1);
    if (!last) throw new Error('the session never listed a durable file');
    return last;
  }
}

/** Waits until capture has the source's last GTID. */
async function caughtUp(follower: Follower, store: MariadbStore): Promise<LogFile[]> {
  const head = await engine.head(store);
  for (let i = 0; i < 100; i++) {
    const files = await follower.poll();
    if (files.at(-1)?.end.offset === head.offset) return files;
    await sleep(100);
  }
  throw new Error(`capture did not reach the head ${head.position}`);
}

/** "Uploads": copies the spool's files into the log directory (a later copy of a file replaces the earlier). */
async function upload(spool: string, logDir: string, files: LogFile[]) {
  await fs.mkdir(logDir, { recursive: true });
  for (const f of files) await fs.copyFile(path.join(spool, f.name), path.join(logDir, f.name));
}

/** The capture tool this test process started for a spool (found by its command line and parent). */
async function captureToolPid(spool: string): Promise<number> {
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (
      cmdline.startsWith('mariadb-binlog') &&
      cmdline.includes(`--result-file=${spool}/`) &&
      parent === process.pid
    )
      return Number(entry);
  }
  throw new Error(`no mariadb-binlog of this test streams into ${spool}`);
}

/** The files of several sessions sharing a spool: a later listing of a file replaces an earlier one. */
function merged(...listings: LogFile[][]): LogFile[] {
  const byName = new Map<string, LogFile>();
  for (const listing of listings) for (const f of listing) byName.set(f.name, f);
  return [...byName.values()].sort((a, b) => a.start.offset - b.start.offset);
}

describe('MariaDB continuous capture', () => {
  let root: string;
  const sources: MariadbSource[] = [];
  const sessions: CaptureSession[] = [];
  let replays = 0;

  beforeAll(() => {
    root = tempDir('lazarus-pitr-mariadb-');
  });
  afterAll(async () => {
    for (const s of sessions) await s.stop().catch(() => {});
    for (const s of sources) await s.stop().catch(() => {});
    await fs.rm(root, { recursive: true, force: true });
  });

  async function source(name: string, prepared = true): Promise<MariadbSource> {
    const started = await startMariadbSource({ dir: path.join(root, name), database: DATABASE, prepared });
    sources.push(started);
    return started;
  }

  async function startCapture(store: MariadbStore, spool: string, resumeFrom?: LogFile) {
    const session = await engine.capture(store, {
      spool,
      streamName: 'pitr-test',
      signal: new AbortController().signal,
      ...(resumeFrom
        ? { resumeFrom: { ...resumeFrom.end, lineage: resumeFrom.lineage, file: resumeFrom.name } }
        : {}),
    });
    sessions.push(session);
    return new Follower(session);
  }

  async function replayTo(
    store: MariadbStore,
    base: string,
    logDir: string,
    logs: LogFile[],
    target: ReplayTarget,
  ) {
    const workDir = path.join(root, `replay-${replays++}`);
    const recovered = await engine.replay({
      store,
      workDir,
      openBase: () => createReadStream(base),
      logDir,
      logs,
      target,
      signal: new AbortController().signal,
    });
    try {
      return { rows: await rowsOf(recovered.store), reached: recovered.reached };
    } finally {
      await recovered.stop();
    }
  }

  it('restores exactly the rows committed at or before six times (one inside a receipt window), a mark, and refuses targets past the log', async () => {
    const src = await source('exact');
    const spool = path.join(root, 'exact-spool');
    const follower = await startCapture(src.store, spool);
    const writer = await Writer.start(src.store);
    const base = path.join(root, 'exact-base.sql');
    await sleep(800);
    const basePoint = await writeBase(src.store, base);
    const admin = await connect(src.store);
    const rotations: number[] = [];
    await sleep(1200);
    await admin.query('FLUSH BINARY LOGS');
    rotations.push(Date.now());
    await sleep(1000);
    const mark = await engine.mark(src.store, 'exact_m1');
    const head = await engine.head(src.store);
    const durable = (await follower.poll()).at(-1)!.end;
    console.log(
      `mariadb RPO sample under the writer: head ${head.position}, durable ${durable.position}, ` +
        `${head.offset - durable.offset} bytes behind`,
    );
    await sleep(1000);
    await admin.query('FLUSH BINARY LOGS');
    rotations.push(Date.now());
    await sleep(1200);
    const written = await writer.stop();
    admin.destroy();
    const files = await caughtUp(follower, src.store);
    const logDir = path.join(root, 'exact-logs');
    await upload(spool, logDir, files);
    expect(files.length).toBeGreaterThanOrEqual(3);
    expect(files.slice(0, -1).every((f) => f.sealed)).toBe(true);

    // The receipt window: how long after its time each transaction was seen whole.
    const markTime = new Map(
      files.flatMap((f) => f.marks).map((m) => [m.position.split(' ')[0], Date.parse(m.time)]),
    );
    const lagOf = (r: Row) => markTime.get(r.gtid)! * 1000 - micros(r.ts);
    const lags = written.map(lagOf).sort((a, b) => a - b);
    const pct = (p: number) => (lags[Math.floor((lags.length - 1) * p)] / 1000).toFixed(1);
    console.log(
      `mariadb capture: ${written.length} rows, base at ${basePoint.end.position}; mark time - row time (ms): ` +
        `min ${pct(0)} median ${pct(0.5)} p99 ${pct(0.99)} max ${pct(1)}`,
    );

    const all = await rowsOf(src.store);
    // Targets from the base on: before it, a time is refused (a test of its own below).
    const afterBase = written.filter((r) => seqOf(r.gtid) > seqOf(basePoint.end.position));
    const first = micros(afterBase[5].ts) / 1000;
    const last = micros(written.at(-20)!.ts) / 1000;
    const targets = [
      rotations[0] + 3,
      rotations[1] + 7,
      Math.floor(first / 1000) * 1000 + 1000, // a whole second
      first + Math.random() * (last - first),
      first + Math.random() * (last - first),
    ].map((t) => new Date(Math.floor(t)).toISOString());
    // And one inside a receipt window on purpose: the ms right after the row seen latest after its time.
    const slowest = afterBase.slice(5, -20).reduce((a, b) => (lagOf(b) > lagOf(a) ? b : a));
    targets.push(new Date(Math.ceil(micros(slowest.ts) / 1000)).toISOString());
    const figures: string[] = [];
    for (const time of targets) {
      const tMicros = Date.parse(time) * 1000;
      const { rows } = await replayTo(src.store, base, logDir, files, { kind: 'time', time });
      const expected = all.filter((r) => micros(r.ts) <= tMicros);
      const got = new Set(rows.map((r) => r.id));
      const missing = expected.filter((r) => !got.has(r.id));
      const extra = rows.filter((r) => micros(r.ts) > tMicros);
      // Rows of time <= T seen after T: the receipt window a time target can fall into.
      const inWindow = written.filter(
        (r) => micros(r.ts) <= tMicros && markTime.get(r.gtid)! > Date.parse(time),
      );
      figures.push(
        `T=${time} expected ${expected.length} restored ${rows.length} missing ${missing.length} extra ${extra.length} ` +
          `(in receipt window: ${inWindow.length})`,
      );
      expect(extra).toEqual([]);
      expect(missing.map((r) => r.id)).toEqual(inWindow.map((r) => r.id));
    }
    console.log(`mariadb exact to T:\n  ${figures.join('\n  ')}`);

    const atMark = await replayTo(src.store, base, logDir, files, { kind: 'name', name: 'exact_m1' });
    const beforeMark = written.filter((r) => seqOf(r.gtid) < seqOf(mark.position));
    console.log(
      `mariadb mark ${mark.position}: reached ${atMark.reached.position}, restored ${atMark.rows.length}, written before it ${beforeMark.length}`,
    );
    expect(atMark.rows.map((r) => r.id)).toEqual(beforeMark.map((r) => r.id));

    const latest = await replayTo(src.store, base, logDir, files, { kind: 'latest' });
    expect(latest.rows.map((r) => r.id)).toEqual(all.map((r) => r.id));

    const past = new Date(Date.parse(files.at(-1)!.end.time!) + 30_000).toISOString();
    await expect(replayTo(src.store, base, logDir, files, { kind: 'time', time: past })).rejects.toThrow(
      /past the captured log/,
    );
    const beyond = files.at(-1)!.end.offset + 1000;
    await expect(
      replayTo(src.store, base, logDir, files, { kind: 'position', position: 'x', offset: beyond }),
    ).rejects.toThrow(/outside the captured log/);
    const beforeBase = new Date(micros(written[0].ts) / 1000).toISOString();
    await expect(
      replayTo(src.store, base, logDir, files, { kind: 'time', time: beforeBase }),
    ).rejects.toThrow(/before the base's consistent point/);
    await expect(replayTo(src.store, base, logDir, files, { kind: 'name', name: 'nope' })).rejects.toThrow(
      /no mark named nope/,
    );
    const withoutMiddle = files.filter((_, i) => i !== 1);
    await expect(replayTo(src.store, base, logDir, withoutMiddle, { kind: 'latest' })).rejects.toThrow(
      /has a gap/,
    );
    const cutDir = path.join(root, 'exact-logs-cut');
    await upload(spool, cutDir, files);
    const newest = path.join(cutDir, files.at(-1)!.name);
    await fs.truncate(newest, Math.floor((await fs.stat(newest)).size / 2));
    await expect(replayTo(src.store, base, cutDir, files, { kind: 'latest' })).rejects.toThrow(/cut short/);
    follower.end();
    await follower.session.stop();
    await expect(follower.session.ended).resolves.toBeUndefined();
  });
  it('resumes with no gap nor duplicate after the capture tool is killed and after the source crashes', async () => {
    const src = await source('crash');
    const spool = path.join(root, 'crash-spool');
    const first = await startCapture(src.store, spool);
    let writer = await Writer.start(src.store);
    const base = path.join(root, 'crash-base.sql');
    await sleep(500);
    await writeBase(src.store, base);
    await sleep(1000);

    // The capture tool dies: the session ends in error; the next resumes from what was durable.
    process.kill(await captureToolPid(spool), 'SIGKILL');
    await expect(first.session.ended).rejects.toThrow(/mariadb-binlog exited/);
    first.end();
    const durable1 = first.durable();
    const second = await startCapture(src.store, spool, durable1);
    await sleep(1500);

    // The source is killed under the writer: what it acknowledged must all come back.
    await src.kill();
    await expect(second.session.ended).rejects.toThrow(/mariadb-binlog exited/);
    second.end();
    // The writer learns of the crash at its next commit: wait for that, so its last acknowledged row is known.
    for (let i = 0; i < 100 && !writer.error; i++) await sleep(20);
    expect(writer.error).toBeDefined();
    const acked = await writer.stop();
    const durable2 = second.durable();
    await src.restart();
    const third = await startCapture(src.store, spool, durable2);
    writer = await Writer.start(src.store);
    await sleep(1000);
    acked.push(...(await writer.stop()));
    const files = merged(first.listing, second.listing, await caughtUp(third, src.store));
    third.end();
    await third.session.stop();

    for (let i = 1; i < files.length; i++) expect(files[i].start.offset).toBe(files[i - 1].end.offset);
    const gtids = files.flatMap((f) => f.marks).map((m) => seqOf(m.position));
    expect(gtids).toEqual(gtids.map((_, i) => gtids[0] + i)); // every GTID once, none skipped
    const logDir = path.join(root, 'crash-logs');
    await upload(spool, logDir, files);
    const { rows, reached } = await replayTo(src.store, base, logDir, files, { kind: 'latest' });
    const restored = new Set(rows.map((r) => r.id));
    const lost = acked.filter((r) => !restored.has(r.id));
    const span = lost.length ? (micros(lost.at(-1)!.ts) - micros(lost[0].ts)) / 1000 : 0;
    console.log(
      `mariadb crash: ${files.length} files ${files.map((f) => `${f.name}[${f.start.offset}..${f.end.offset}]`).join(' ')}; ` +
        `resumed at ${durable1.end.position} and ${durable2.end.position}; reached ${reached.position}; ` +
        `acknowledged ${acked.length}, restored ${rows.length}, acknowledged but missing ${lost.length} (span ${span} ms)`,
    );
    expect(span).toBeLessThanOrEqual(1000);
    expect(lost).toEqual([]);
    expect(rows.map((r) => r.id)).toEqual((await rowsOf(src.store)).map((r) => r.id));
  });

  it('refuses to resume into a binlog rewritten since (RESET MASTER), rather than splice two histories', async () => {
    const src = await source('reset');
    const spool = path.join(root, 'reset-spool');
    const follower = await startCapture(src.store, spool);
    const writer = await Writer.start(src.store);
    await sleep(300);
    await writer.stop();
    await caughtUp(follower, src.store);
    follower.end();
    await follower.session.stop();
    const admin = await connect(src.store);
    await admin.query('RESET MASTER');
    await admin.query('INSERT INTO ticks (ts) VALUES (NOW(6)), (NOW(6))');
    admin.destroy();
    await expect(startCapture(src.store, spool, follower.durable())).rejects.toThrow(/binlog was rewritten/);
  });

  it('preflight names each missing setting with its fix, and reads the shared server without changing it', async () => {
    const bare = await source('bare', false);
    const missing = await engine.preflight(bare.store);
    console.log(`mariadb preflight, unprepared throwaway:\n  ${missing.map(requirementText).join('\n  ')}`);
    expect(missing.map((m) => m.setting)).toEqual(
      expect.arrayContaining(['log_bin', 'binlog_format', 'gtid_strict_mode', 'sync_binlog']),
    );
    for (const m of missing) expect(m.fix).toMatch(/my\.cnf|GRANT/);
    expect(await engine.preflight(sources[0].store)).toEqual([]);
    const shared: MariadbStore = {
      kind: 'mariadb',
      host: '127.0.0.1',
      port: 3306,
      user: 'root',
      database: 'mysql',
    };
    const said = await engine.preflight(shared).then(
      (r) => (r.length ? r.map(requirementText).join('\n  ') : 'ready'),
      (err: Error) => `not readable: ${err.message}`,
    );
    console.log(`mariadb preflight, shared server 127.0.0.1:3306 (read only):\n  ${said}`);
  });
});

const requirementText = (m: { setting: string; found: string; needed: string; fix: string }) =>
  `${m.setting}: found ${m.found}, needed ${m.needed}; fix: ${m.fix}`;
