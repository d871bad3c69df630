/**
 * A replay: a scratch mariadbd in the work directory, the base loaded into it, then the
 * captured binlog from the base's position to the target piped through mariadb-binlog
 * into it. Only the store's database is replayed (--database: the base holds only it, and
 * other databases' changes would fail against it). The point reached is read from the
 * scratch server itself: it logs what it applies (log-bin), so its gtid_binlog_pos must
 * be the last GTID the logs hold for the database up to the target.
 */
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import type { LogPoint, Recovered, ReplayInput } from '../../capture';
import { baseOnDisk } from '../../shared/base-file';
import { commandInput, commandOutput } from '../../shared/process';
import { basePoint } from './base';
import { domainOfLineage, gtidInDomain, logPoint, offsetOf, parsePosition, type BinlogPos } from './points';
import { checkContinuity, lastAppliedTo, resolveStop, TargetError, type Stop } from './resolve';
import { startLocalServer } from './scratch';
import { type MariadbStore, queryRow, toolConnection, withServer } from './server';

/** The scratch server's id: never a source's (it replicates nowhere, but its own log says who wrote). */
const SCRATCH_SERVER_ID = 4_000_000_001;

export async function replay(input: ReplayInput<MariadbStore>): Promise<Recovered<MariadbStore>> {
  const baseFile = await baseOnDisk(input, path.join(input.workDir, 'base'));
  const { domain, base, baseGtid, stop, expected } = await plan(input, baseFile).catch(async (err: Error) => {
    await fs.rm(input.workDir, { recursive: true, force: true });
    throw err;
  });
  // A fresh data directory: an earlier, interrupted attempt's must not be taken for a base.
  await fs.rm(path.join(input.workDir, 'server'), { recursive: true, force: true });
  const server = await startLocalServer({
    dir: path.join(input.workDir, 'server'),
    serverId: SCRATCH_SERVER_ID,
    settings: ['log-bin=replay-bin', 'binlog-format=ROW'],
  });
  const stopServer = async () => {
    await server.stop();
    await fs.rm(input.workDir, { recursive: true, force: true });
  };
  try {
    const scratch: MariadbStore = {
      kind: 'mariadb',
      host: '127.0.0.1',
      port: server.port,
      user: 'root',
      database: input.store.database,
    };
    await loadBase(scratch, baseFile, base.gtidList, input.signal);
    if (stop) await applyLogs(scratch, input, base, stop, input.signal);
    await checkReached(scratch, domain, expected, input.target.kind);
    return { store: scratch, reached: reachedPoint(stop, baseGtid, base), stop: stopServer };
  } catch (err) {
    await stopServer();
    throw err;
  }
}

/**
 * Everything decided before a server is started: the base's point inside continuous logs,
 * the transaction to stop after, and the GTID the recovered server must then show.
 */
async function plan(input: ReplayInput<MariadbStore>, baseFile: string) {
  const { logs, logDir, store } = input;
  checkContinuity(logs);
  const domain = domainOfLineage(logs[0].lineage);
  const base = await basePoint(baseFile);
  const baseOffset = offsetOf(base);
  if (baseOffset < logs[0].start.offset || baseOffset > logs.at(-1)!.end.offset)
    throw new TargetError(
      `mariadb: the base's point ${base.file}:${base.pos} is not inside the captured log ` +
        `(${logs[0].start.position} to ${logs.at(-1)!.end.position}): download the files from the base's on`,
    );
  const stop = await resolveStop(input.target, logs, logDir, baseOffset);
  const baseGtid = gtidInDomain(base.gtidList, domain);
  const expected = stop
    ? ((await lastAppliedTo(store.database, logs, logDir, baseOffset, stop)) ?? baseGtid)
    : baseGtid;
  return { domain, base, baseGtid, stop, expected };
}

/**
 * The dump, with the scratch server's binlog off for it, then the binlog's GTID state set
 * to the base's: from there on, the state shows exactly what the replay applied.
 */
async function loadBase(scratch: MariadbStore, base: string, gtidList: string, signal: AbortSignal) {
  await commandInput(
    { cmd: 'mariadb', args: [...toolConnection(scratch), '--init-command=SET sql_log_bin = 0'], signal },
    createReadStream(base),
  );
  await withServer(scratch, async (server) => {
    await server.query('RESET MASTER');
    if (gtidList) await server.query('SET GLOBAL gtid_binlog_state = ?', [gtidList]);
  });
}

async function applyLogs(
  scratch: MariadbStore,
  input: ReplayInput<MariadbStore>,
  base: BinlogPos,
  stop: NonNullable<Stop>,
  signal: AbortSignal,
) {
  const stopAt = parsePosition(stop.position);
  const first = input.logs.findIndex((f) => f.name === base.file);
  const last = input.logs.findIndex((f) => f.name === stopAt.at?.file);
  if (first < 0 || last < first)
    throw new TargetError(`mariadb: the logs from ${base.file} to ${stopAt.at?.file} were not downloaded`);
  const files = input.logs.slice(first, last + 1).map((f) => path.join(input.logDir, f.name));
  const decoded = commandOutput({
    cmd: 'mariadb-binlog',
    args: [
      `--database=${input.store.database}`,
      // A byte position in the first file: the base's own (its GTID state may span domains).
      `--start-position=${base.pos}`,
      // Inclusive: the replay ends with this transaction.
      `--stop-position=${stopAt.gtid}`,
      ...files,
    ],
    signal,
  });
  await commandInput({ cmd: 'mariadb', args: toolConnection(scratch), signal }, decoded);
}

async function checkReached(scratch: MariadbStore, domain: number, expected: string, kind: string) {
  const row = await withServer(scratch, (server: mysql.Connection) =>
    queryRow(server, 'SELECT @@gtid_binlog_pos AS gtid'),
  );
  const reached = gtidInDomain(String(row?.gtid ?? ''), domain);
  if (reached !== expected)
    throw new Error(
      `mariadb: the replay to the ${kind} target ended at ${reached || 'the base'} on the recovered server, ` +
        `short of ${expected}, the last transaction of the store's database up to the target: the recovered copy is incomplete`,
    );
}

function reachedPoint(stop: Stop, baseGtid: string, base: BinlogPos): LogPoint {
  return stop ? { position: stop.position, offset: stop.offset, time: stop.time } : logPoint(baseGtid, base);
}
