/**
 * A capture session: pg_receivewal --synchronous on a physical slot, streaming into the
 * spool (each write flushed and acknowledged at once, so what the source committed is
 * on our disk within milliseconds). -n: it exits when the source goes away, instead of
 * retrying on its own, so that `ended` tells the generic layer to start a new session.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { tiedToWorker } from '../../shared/process';
import type { CaptureOptions, CaptureSession, LogFile } from '../../capture';
import {
  identifySystem,
  timelineHistory,
  toolArgs,
  toolEnv,
  serverMajor,
  withSql,
  type PostgresStore,
} from './connection';
import { ensureSlot, slotName } from './slot';
import { prepareSpool, SpoolIndex, type ServerHistory } from './spool';
import { pgProgram } from './tools';
import { lineageOf, parseHistory } from './wal';

const STARTED = /starting log streaming at/;
const START_TIMEOUT_MS = 30_000;

export async function startCapture(store: PostgresStore, options: CaptureOptions): Promise<CaptureSession> {
  const slot = slotName(options.streamName);
  const history = await serverHistory(store);
  const major = await serverMajor(store);
  await withSql(store, (client) => ensureSlot(client, slot));
  await prepareSpool(options.spool, history, options.resumeFrom);
  const receiver = spawn(
    ...tiedToWorker(pgProgram('pg_receivewal', major), [
      ...toolArgs(store),
      '--directory',
      options.spool,
      '--slot',
      slot,
      '--synchronous',
      '--no-loop',
      '--verbose',
    ]),
    { env: { ...toolEnv(store), PGAPPNAME: `lazarus_${slot}` }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const index = new SpoolIndex(options.spool, history.systemId, major);
  const session = supervise(receiver, options.signal);
  await session.started;
  // Held back only on the lineage streamed on: after a fork the old one gets no more.
  const current = lineageOf(history.systemId, history.timeline);
  const durableOnly = notBehind(options.resumeFrom?.lineage === current ? options.resumeFrom : undefined);
  let listing = Promise.resolve<LogFile[]>([]);
  return {
    // One listing at a time: each reads on from where the previous one stopped.
    files: () => (listing = listing.catch(() => []).then(async () => durableOnly(await index.files()))),
    ended: session.ended,
    stop: session.stop,
  };
}

/**
 * Leaves out a .partial holding no whole record yet (nothing in it is durable), and the
 * resumed segment until it is streamed again at least as far as the previous session got:
 * a shorter version must never replace, upstream, the one already uploaded under its name.
 */
function notBehind(resumeFrom: CaptureOptions['resumeFrom']): (files: LogFile[]) => LogFile[] {
  let behind = resumeFrom;
  return (files) => {
    const kept = files.filter((f) => f.sealed || f.end.offset > f.start.offset);
    if (!behind) return kept;
    const { lineage, offset } = behind;
    const lagging = (f: LogFile) =>
      !f.sealed && f.lineage === lineage && f.start.offset <= offset && f.end.offset < offset;
    if (!kept.some(lagging) && kept.some((f) => f.lineage === lineage && f.end.offset >= offset))
      behind = undefined;
    return kept.filter((f) => !lagging(f));
  };
}

async function serverHistory(store: PostgresStore): Promise<ServerHistory> {
  const { systemId, timeline } = await identifySystem(store);
  return { systemId, timeline, ancestors: parseHistory(await timelineHistory(store, timeline)) };
}

/** Watches pg_receivewal: started once it streams, ended when it exits (rejected unless stopped). */
function supervise(receiver: ChildProcess, signal: AbortSignal) {
  let log = '';
  let stopping = false;
  let markStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  let gaveUp = '';
  // A receiver that neither streams nor fails (a server that never answers) is given up on.
  const startTimer = setTimeout(() => {
    gaveUp = `did not start streaming within ${START_TIMEOUT_MS / 1000} s; `;
    receiver.kill('SIGKILL');
  }, START_TIMEOUT_MS);
  receiver.stderr!.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-8192);
    if (STARTED.test(log)) {
      clearTimeout(startTimer);
      markStarted();
    }
  });
  const ended = new Promise<void>((resolve, reject) => {
    receiver.once('error', reject);
    receiver.once('close', (code, sig) => {
      clearTimeout(startTimer);
      if (stopping) resolve();
      else
        reject(
          new Error(
            `pg_receivewal stopped (${sig ?? `exit code ${code}`}): ${gaveUp}${log.trim().split('\n').slice(-4).join(' | ')}`,
          ),
        );
    });
  });
  ended.catch(() => {}); // the caller gets it through `ended`
  const stop = async () => {
    stopping = true;
    // SIGINT: it flushes what it has and leaves the open segment as .partial.
    if (receiver.exitCode === null && receiver.signalCode === null) receiver.kill('SIGINT');
    await ended.catch(() => {});
  };
  if (signal.aborted) void stop();
  else signal.addEventListener('abort', () => void stop(), { once: true });
  return { started: Promise.race([started, ended]), ended, stop };
}
