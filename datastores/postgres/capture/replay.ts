/**
 * Replay: the base unpacked into a data directory of the replay's own as it is read from
 * the repository, recovered by a scratch server of its own (a free port, archive_mode off:
 * it never writes into the production stream) with restore_command serving the log,
 * `.partial` included, to the target, waiting for a file still being downloaded; then
 * promoted, and the point it reached read from it and checked.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { LogFile, LogPoint, Recovered, ReplayInput, ReplayTarget } from '../../capture';
import { freePort } from '../../../tools/local-server';
import { commandInput } from '../../shared/process';
import type { PostgresStore } from './connection';
import { lastLines, PostgresServer, query } from './scratch';
import { ownDirectory, pgProgram, serverUser, type RunAs } from './tools';
import { lsnToOffset, parseWalFileName, pointAt } from './wal';

/** A recovered copy, with what a cut-over needs: its data directory, and a stop that keeps it. */
export interface PostgresRecovered extends Recovered<PostgresStore> {
  dataDir: string;
  /** Stops the scratch server, leaving its data directory in place and durable. */
  shutdown(): Promise<void>;
}

const SHORT_OF_TARGET = 'recovery ended before configured recovery target was reached';

export async function replay(input: ReplayInput<PostgresStore>): Promise<PostgresRecovered> {
  const runAs = serverUser();
  const dataDir = path.join(input.workDir, 'data');
  await fs.rm(input.workDir, { recursive: true, force: true });
  await ownDirectory(input.workDir, runAs, 0o755);
  await ownDirectory(dataDir, runAs);
  await assertReadable(input.logDir, runAs);
  await markArriving(input);
  await unpackBase(input, dataDir, runAs);
  const major = Number((await fs.readFile(path.join(dataDir, 'PG_VERSION'), 'utf8')).trim());
  await ownDirectory(path.join(dataDir, 'pg_wal'), runAs);
  await fs.writeFile(path.join(dataDir, 'recovery.signal'), '');
  const server = new PostgresServer({
    dataDir,
    port: await freePort(),
    logFile: path.join(input.workDir, 'server.log'),
    settings: recoverySettings(input),
    runAs,
    major,
  });
  const remove = () => fs.rm(input.workDir, { recursive: true, force: true });
  try {
    await server.start();
    const store: PostgresStore = { ...input.store, host: '127.0.0.1', port: server.port };
    await waitUntilPromoted(store, server, input.signal);
    const reached = await reachedPoint(store);
    checkReached(input.target, reached, input.logs, await server.logText());
    return {
      store,
      reached,
      dataDir,
      shutdown: async () => {
        await server.stop();
        // It ran with fsync off (a scratch copy); a data directory kept for a cut-over is synced now.
        await run(pgProgram('initdb', major), ['--sync-only', '-D', dataDir], runAs);
      },
      siblings: async () => {
        const rows = await query<{ datname: string }>(
          { ...store, database: 'postgres' },
          'SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> $1 AND datname <> $2 ORDER BY datname',
          [store.database, 'postgres'],
        );
        return rows.map((r) => r.datname);
      },
      stop: async () => {
        await server.stop();
        await remove();
      },
    };
  } catch (err) {
    await server.stop();
    await remove();
    throw err;
  }
}

/** restore_command runs as the server's OS user: logDir and each downloaded file must be readable by it. */
async function assertReadable(logDir: string, runAs: RunAs | undefined): Promise<void> {
  const script =
    'test -x "$1" || { echo "$1"; exit 1; }; ' +
    'for f in "$1"/*; do test -e "$f" || continue; test -r "$f" || { echo "$f"; exit 1; }; done';
  const out = await run('sh', ['-c', script, 'sh', logDir], runAs).catch((err: Error) => err.message);
  if (out)
    throw new Error(
      `the replay's scratch server runs as uid ${runAs?.uid ?? process.getuid?.()} and cannot read ${out.trim()}: make logDir and its files readable by it (chmod a+rX)`,
    );
}

/** The base's tar, from the repository straight into tar as the server's user (its files must be its own). */
function unpackBase(input: ReplayInput<PostgresStore>, dataDir: string, runAs: RunAs | undefined) {
  return commandInput(
    { cmd: 'tar', args: ['-xf', '-', '-C', dataDir], runAs, signal: input.signal },
    input.openBase(),
  );
}

/** While it exists, restore_command waits for a file of the log not yet in logDir. */
function arrivingMarker(input: ReplayInput<PostgresStore>): string {
  return path.join(input.workDir, 'log-arriving');
}

/** The marker, there until the log's download has ended (the replay may be over before it is). */
async function markArriving(input: ReplayInput<PostgresStore>): Promise<void> {
  if (!input.logsArriving) return;
  const marker = arrivingMarker(input);
  await fs.writeFile(marker, '');
  void input.logsArriving.finally(() => fs.rm(marker, { force: true })).catch(() => {});
}

/** Runs a program to its end; resolves with its output, rejects with its stderr. */
function run(cmd: string, args: string[], runAs: RunAs | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(runAs ?? {}) });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd}: ${(err || out).trim()}`)),
    );
  });
}

/** A directory inside restore_command's shell line: double-quoted, and `%` doubled for postgres. */
function shellPath(file: string): string {
  return `"${file.replace(/(["\\$`])/g, '\\$1').replace(/%/g, '%%')}"`;
}

function recoverySettings(input: ReplayInput<PostgresStore>): Record<string, string> {
  return {
    // Never into the production stream: no archiving, no upstream, no waiting for standbys.
    archive_mode: 'off',
    archive_command: '',
    primary_conninfo: '',
    synchronous_standby_names: '',
    // A scratch copy: a crash means replaying again in a fresh workDir, so nothing is fsynced
    // (not the unpacked base before recovery, nor the end-of-recovery checkpoint).
    fsync: 'off',
    restore_command: restoreCommand(input),
    recovery_target_timeline: targetTimeline(input.logs),
    recovery_target_action: 'promote',
    logging_collector: 'off',
    log_destination: 'stderr',
    ...targetSettings(input.target),
  };
}

/**
 * Copies `%f` (or its `.partial`) from logDir; while the log is still arriving, a file not
 * there yet is waited for. Once it has all arrived, a missing file is missing (the end of
 * the log, a timeline history that does not exist).
 */
function restoreCommand(input: ReplayInput<PostgresStore>): string {
  const file = `${shellPath(path.resolve(input.logDir))}/%f`;
  const marker = shellPath(path.resolve(arrivingMarker(input)));
  return (
    `while test -e ${marker} && ! test -e ${file} && ! test -e ${file}.partial; do sleep 0.02; done; ` +
    `cp ${file} "%p" 2>/dev/null || cp ${file}.partial "%p"`
  );
}

function targetSettings(target: ReplayTarget): Record<string, string> {
  switch (target.kind) {
    case 'time':
      // Inclusive: every transaction committed at or before T.
      return { recovery_target_time: serverTime(target.time), recovery_target_inclusive: 'on' };
    case 'position':
      return { recovery_target_lsn: target.position, recovery_target_inclusive: 'on' };
    case 'name':
      return { recovery_target_name: target.name };
    case 'latest':
      return {};
  }
}

/**
 * A time as recovery_target_time takes it: `2026-12-01 08:42:33.0084+00`. The server reads
 * it at startup, before it knows zone abbreviations, so ISO's `Z` is refused; µs are kept.
 */
function serverTime(time: string): string {
  const parsed = Date.parse(time);
  if (Number.isNaN(parsed)) throw new Error(`replay target time "${time}" is not an ISO 8601 time`);
  const iso =
    /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d(?:\.\d+)?)Z$/.exec(time) ??
    /^(.*)T(.*)Z$/.exec(new Date(parsed).toISOString())!;
  return `${iso[1]} ${iso[2]}+00`;
}

/**
 * The timeline to recover along: that of the newest WAL in `logs` (a target on an old
 * timeline after a fork is handed that timeline's files; one on the new timeline, the
 * new timeline's), not 'latest', which would follow the fork whatever the target.
 */
function targetTimeline(logs: LogFile[]): string {
  const timelines = logs
    .map((f) => parseWalFileName(f.name))
    .flatMap((f) => (f?.type === 'segment' ? [f.timeline] : []));
  return timelines.length ? String(Math.max(...timelines)) : 'current';
}

async function waitUntilPromoted(
  store: PostgresStore,
  server: PostgresServer,
  signal: AbortSignal,
): Promise<void> {
  const maintenance = { ...store, database: 'template1' };
  for (;;) {
    if (signal.aborted) throw new Error('replay cancelled');
    if (!server.running) throw new Error(failure(await server.logText()));
    const inRecovery = await query<{ r: boolean }>(maintenance, 'SELECT pg_is_in_recovery() AS r').then(
      ([row]) => row.r,
      () => true, // not accepting connections yet (not consistent): still recovering
    );
    if (!inRecovery) return;
    // Often: the moment of promotion is on a restore's critical path.
    await new Promise((r) => setTimeout(r, 25));
  }
}

function failure(log: string): string {
  if (log.includes(SHORT_OF_TARGET))
    return `replay fell short: the log given ends before the target (PostgreSQL: "${SHORT_OF_TARGET}"): ${lastLines(log, 4)}`;
  return `the scratch server stopped during recovery: ${lastLines(log)}`;
}

/** Where recovery stopped, read from the recovered server: its last replayed WAL and commit. */
async function reachedPoint(store: PostgresStore): Promise<LogPoint> {
  const [row] = await query<{ lsn: string; time: string | null }>(
    { ...store, database: 'template1' },
    `SELECT pg_last_wal_replay_lsn()::text AS lsn,
            to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS time`,
  );
  return pointAt(lsnToOffset(row.lsn), row.time ?? undefined);
}

/** Fails unless the server says it stopped at the target (or, for latest, replayed all the log). */
function checkReached(target: ReplayTarget, reached: LogPoint, logs: LogFile[], log: string): void {
  if (log.includes(SHORT_OF_TARGET)) throw new Error(failure(log));
  const short = (what: string) =>
    new Error(`replay reached ${reached.position} (${reached.time ?? 'no commit'}), short of ${what}`);
  switch (target.kind) {
    case 'time':
      if (!/recovery stopping (before|after) /.test(log)) throw short(`time ${target.time}`);
      if (reached.time && Date.parse(reached.time) > Date.parse(target.time))
        throw new Error(`replay went past ${target.time}: last commit replayed at ${reached.time}`);
      return;
    case 'position':
      if (reached.offset < target.offset) throw short(`position ${target.position}`);
      return;
    case 'name':
      if (!log.includes(`recovery stopping at restore point "${target.name}"`))
        throw short(`restore point "${target.name}"`);
      return;
    case 'latest': {
      const newest = logs.filter((f) => parseWalFileName(f.name)?.type === 'segment').at(-1);
      // A .partial's end is its last whole record: all of it must have been replayed.
      const expected = newest ? (newest.sealed ? newest.start.offset : newest.end.offset) : 0;
      if (reached.offset < expected) throw short(`the end of the log given (${newest?.name} to ${expected})`);
    }
  }
}
