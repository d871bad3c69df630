/**
 * A capture session: `mariadb-binlog --read-from-remote-server --raw --stop-never` copies
 * the source's binlog files byte for byte into the spool, and the files are read as they
 * grow. The tool does not reconnect: when the source goes, `ended` rejects and the next
 * session resumes. Raw mode always writes a file from its start, so a session resumes by
 * streaming again the file the durable point is in: the same bytes under the same name,
 * which replace the earlier copy (no duplicate), continuing where it stopped (no gap).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { tiedToWorker } from '../../shared/process';
import { createHash } from 'node:crypto';
import { promises as fs, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import type { CaptureOptions, CaptureSession, LogFile } from '../../capture';
import type { EventGroup } from './binlog';
import {
  binlogPosOf,
  fileSequence,
  FIRST_EVENT,
  gtidInDomain,
  gtidText,
  parsePosition,
  type BinlogPos,
} from './points';
import { binlogHead, lineage, type MariadbStore, toolConnection, toolEnv, withServer } from './server';
import { FileTracker } from './tracker';

/** How often the spool is read when no change was signalled (inotify tells of each write). */
const FALLBACK_POLL_MS = 250;

export async function capture(store: MariadbStore, options: CaptureOptions): Promise<CaptureSession> {
  const source = await withServer(store, async (server) => ({
    ...(await lineage(server)),
    start: await startFile(server, options),
  }));
  await fs.mkdir(options.spool, { recursive: true });
  await clearFrom(options.spool, source.start);
  const spool = new Spool(options, source.domain, source.lineage, source.start);
  spool.run(spawnTool(store, options, source.start));
  return spool;
}

/** Where to start: the durable point's file when resuming, the head's file otherwise. */
async function startFile(server: mysql.Connection, options: CaptureOptions): Promise<string> {
  const head = await binlogHead(server);
  if (!head) throw new Error('mariadb: binary logging is off on the source (log_bin): see preflight');
  const from = options.resumeFrom;
  if (!from) return head.file;
  const { lineage: now, domain } = await lineage(server);
  if (from.lineage !== now)
    throw new Error(
      `mariadb: the source's lineage is ${now}, the stream's ${from.lineage}: a new stream (and base) is needed`,
    );
  const at = binlogPosOf(from.offset, from.file ?? head.file);
  const [logs] = await server.query<mysql.RowDataPacket[]>('SHOW BINARY LOGS');
  if (!logs.some((l) => l.Log_name === at.file))
    throw new Error(
      `mariadb: the source no longer has ${at.file}, where capture stopped (purged?): the stream has a gap; take a new base`,
    );
  await checkSameLog(server, at, parsePosition(from.position).gtid, domain);
  return at.file;
}

/**
 * The source must be at the durable point's GTID at its binlog position, as when it was
 * captured: a RESET MASTER or a server restored from elsewhere rewrites the files under
 * the same names, and resuming into them would splice two histories.
 */
async function checkSameLog(server: mysql.Connection, at: BinlogPos, gtid: string, domain: number) {
  if (!gtid) return;
  const [[row]] = await server.query<mysql.RowDataPacket[]>('SELECT BINLOG_GTID_POS(?, ?) AS gtid', [
    at.file,
    at.pos,
  ]);
  const found = row.gtid === null ? undefined : gtidInDomain(String(row.gtid), domain);
  if (found !== gtid)
    throw new Error(
      `mariadb: the source's binlog at ${at.file}:${at.pos} is ${found === undefined ? 'not a position in it' : `at GTID ${found || 'none'}`}, ` +
        `where the previous session captured ${gtid}: the binlog was rewritten (RESET MASTER, a restored server?); ` +
        'a new stream and base are needed',
    );
}

/** Files of an earlier session from the start file on: streamed again, they must not be read as this session's. */
async function clearFrom(spool: string, start: string): Promise<void> {
  for (const name of await fs.readdir(spool))
    if (sameSeries(name, start) && fileSequence(name) >= fileSequence(start))
      await fs.rm(path.join(spool, name));
}

const sameSeries = (name: string, like: string) =>
  /\.\d+$/.test(name) && name.replace(/\.\d+$/, '') === like.replace(/\.\d+$/, '');

/**
 * The replication client id the tool registers with: one per stream, so that two streams
 * of one server do not push each other off (the server keeps one connection per id).
 */
function clientId(streamName: string): number {
  return 1_000_000 + (createHash('sha256').update(streamName).digest().readUInt32BE(0) % 3_000_000_000);
}

function spawnTool(store: MariadbStore, options: CaptureOptions, start: string): ChildProcess {
  return spawn(
    ...tiedToWorker('mariadb-binlog', [
      ...toolConnection(store),
      '--read-from-remote-server',
      '--raw',
      '--stop-never',
      `--stop-never-slave-server-id=${clientId(options.streamName)}`,
      `--result-file=${options.spool}${path.sep}`,
      start,
    ]),
    { env: { ...process.env, ...toolEnv(store) }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
}

class Spool implements CaptureSession {
  readonly ended: Promise<void>;
  private readonly trackers = new Map<string, FileTracker>();
  private child?: ChildProcess;
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private reading = Promise.resolve();
  private stopping = false;
  /** The tool has exited and the spool was read one last time: nothing changes any more. */
  private finished = false;
  private failure?: Error;
  private settle!: { resolve: () => void; reject: (err: Error) => void };
  /** The durable point resumed from, to be found again in the file streamed anew. */
  private readonly resume?: { at: BinlogPos; gtid: string; found: boolean };

  constructor(
    private readonly options: CaptureOptions,
    private readonly domain: number,
    private readonly lineage: string,
    private readonly start: string,
  ) {
    this.ended = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.ended.catch(() => {}); // the generic layer awaits it; a stop must not be unhandled
    const from = options.resumeFrom;
    if (from) {
      const at = binlogPosOf(from.offset, start);
      this.resume = {
        at,
        gtid: parsePosition(from.position).gtid,
        found: at.file !== start || at.pos <= FIRST_EVENT,
      };
    }
  }

  run(child: ChildProcess): void {
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 16_384) stderr += chunk.toString('utf8');
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      // A tool that never started has no exit to wait for.
      if (child.pid !== undefined) return this.fail(err);
      const missing = err.code === 'ENOENT';
      void this.finish(
        missing ? new Error('mariadb-binlog is not installed on this worker (capture streams with it)') : err,
      );
    });
    child.on(
      'exit',
      (code, signal) =>
        void this.finish(
          new Error(`mariadb-binlog exited (${signal ?? code}) while streaming: ${stderr.trim()}`),
        ),
    );
    this.watcher = watch(this.options.spool, () => void this.read());
    this.timer = setInterval(() => void this.read(), FALLBACK_POLL_MS);
    this.options.signal.addEventListener('abort', () => void this.stop(), { once: true });
  }

  /**
   * Still lists what was durable after the tool died (`ended` tells why). The file resumed
   * in is listed only once its new copy reached the durable point: until then it is shorter
   * than what was uploaded of it, and if the source's binlog differs it is never listed.
   */
  async files(): Promise<LogFile[]> {
    await this.read();
    const resume = this.resume;
    return [...this.trackers.values()]
      .filter((t) => !resume || resume.found || t.name !== resume.at.file)
      .map((t) => t.describe(this.lineage))
      .filter((f): f is LogFile => f !== undefined);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.child && this.child.exitCode === null && this.child.signalCode === null)
      this.child.kill('SIGTERM');
    await this.ended.catch(() => {});
  }

  /** One read at a time, in order: every call waits for a read that starts after it. */
  private read(): Promise<void> {
    if (this.finished) return this.reading;
    this.reading = this.reading.then(() => this.readSpool()).catch((err: Error) => this.fail(err));
    return this.reading;
  }

  private async readSpool(): Promise<void> {
    const names = (await fs.readdir(this.options.spool))
      .filter((n) => sameSeries(n, this.start) && fileSequence(n) >= fileSequence(this.start))
      .sort((a, b) => fileSequence(a) - fileSequence(b));
    for (const [i, name] of names.entries()) {
      const tracker = this.trackerFor(name);
      if (tracker.sealed) continue;
      const successor = names[i + 1];
      if (successor) await tracker.seal(successor);
      else await tracker.refresh();
      this.passedResume(tracker);
    }
  }

  private trackerFor(name: string): FileTracker {
    let tracker = this.trackers.get(name);
    if (!tracker) {
      const rereadUntil = this.resume?.at.file === name ? this.resume.at.pos : 0;
      tracker = new FileTracker(name, this.options.spool, this.domain, rereadUntil, (g) =>
        this.checkResume(name, g),
      );
      this.trackers.set(name, tracker);
    }
    return tracker;
  }

  /**
   * The file streamed anew must hold the previous session's durable point at the same
   * place: no group across it, and the group ending there the same GTID. Otherwise the
   * source's binlog is not the one captured.
   */
  private checkResume(file: string, group: EventGroup): void {
    const resume = this.resume;
    if (!resume || resume.found || file !== resume.at.file) return;
    const { pos } = resume.at;
    const straddles = group.start < pos && group.end > pos;
    const otherGtid = group.end === pos && resume.gtid && resume.gtid !== gtidText(group.gtid);
    if (straddles || otherGtid)
      throw new Error(
        `mariadb: ${file}:${pos} on the source is not where the previous session stopped (${resume.gtid || 'no GTID'}): ` +
          'the binlog was rewritten (RESET MASTER, a restored server?); a new stream and base are needed',
      );
    if (group.end >= pos) resume.found = true;
  }

  /** The resumed file read up to the durable point with no mismatch (an idle source adds no group). */
  private passedResume(tracker: FileTracker): void {
    const resume = this.resume;
    if (resume && !resume.found && tracker.name === resume.at.file && tracker.parsed >= resume.at.pos)
      resume.found = true;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    if (this.child && this.child.exitCode === null) this.child.kill('SIGTERM');
  }

  /** The tool exited: read what it left, then settle `ended`. */
  private async finish(exitError: Error): Promise<void> {
    clearInterval(this.timer);
    this.watcher?.close();
    await this.read();
    this.finished = true;
    for (const tracker of this.trackers.values()) await tracker.close();
    const cause = this.failure ?? (this.stopping ? undefined : exitError);
    if (cause) this.settle.reject(cause);
    else this.settle.resolve();
  }
}
