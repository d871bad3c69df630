import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * GNU tar, in a stable form: entries sorted by name and no access or change times, so an
 * unchanged tree gives the same bytes, and the repository deduplicates it entirely.
 * A file that changes while being read makes tar exit 1, which is a warning, not a failure.
 */
export const STABLE_TAR = [
  '--format=posix',
  '--sort=name',
  '--numeric-owner',
  '--pax-option=delete=atime,delete=ctime',
];

export interface Command {
  cmd: string;
  args: string[];
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
  /** Told when the tool exits, whether or not its output has been read. */
  onExit?: (code: number | null) => void;
  /** Exit codes besides 0 that still mean success (GNU tar's 1: a file changed while read). */
  alsoOk?: number[];
  /** The OS user to run the tool as (a server's files must be its own). */
  runAs?: { uid: number; gid: number };
}

/**
 * The standard output of a dump tool, as a stream that errors (with the tool's
 * stderr) when the tool exits non-zero: a failed dump is never mistaken for a short one.
 */
export function commandOutput({ cmd, args, env, signal, onExit, alsoOk = [] }: Command): Readable {
  const child = spawn(cmd, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    signal,
  });
  const out = new PassThrough();
  // The tool may fail before anyone reads (a refused connection fails at once): the error
  // is kept on the stream for its consumer, and must not reach the process as an unhandled
  // 'error' event, which would kill the worker and every step running on it.
  out.on('error', () => {});
  const stderr = collect(child.stderr);
  child.stdout.pipe(out, { end: false });
  child.on('error', (err) => out.destroy(describeSpawnError(cmd, err)));
  child.on('close', (code) => {
    onExit?.(code);
    if (code === 0 || (code !== null && alsoOk.includes(code))) out.end();
    else out.destroy(new Error(`${cmd} exited with code ${code}: ${stderr().trim()}`));
  });
  out.on('close', () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  return out;
}

/**
 * Feeds a stream to a restore tool's standard input; rejects with its stderr when it
 * fails. When the input fails (a damaged snapshot), the tool is stopped and waited for, so
 * nothing it writes can land after the caller has moved on to clear its staging area.
 */
export async function commandInput(command: Command, input: Readable): Promise<void> {
  const { cmd, args, env, signal, runAs } = command;
  const child = spawn(cmd, args, {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'ignore', 'pipe'],
    signal,
    ...(runAs ?? {}),
  });
  const stderr = collect(child.stderr);
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (err) => reject(describeSpawnError(cmd, err)));
    child.on('close', resolve);
  });
  exited.catch(() => {}); // awaited below, after the input
  const inputFailure = await pipeline(input, child.stdin).then(
    () => undefined,
    // The tool closing its input early is reported through its exit code below.
    (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' ? undefined : err),
  );
  if (inputFailure) {
    child.kill('SIGTERM');
    await exited.catch(() => {});
    throw inputFailure;
  }
  const code = await exited;
  if (code !== 0) throw new Error(`${cmd} exited with code ${code}: ${stderr().trim()}`);
}

function collect(stream: Readable): () => string {
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    if (text.length < 64 * 1024) text += chunk.toString('utf8');
  });
  return () => text;
}

function describeSpawnError(cmd: string, err: NodeJS.ErrnoException): Error {
  if (err.code === 'ENOENT')
    return new Error(`${cmd} is not installed on this worker (it is needed for this datastore)`);
  return err;
}

/**
 * The command and arguments of a long-running tool that must die with the worker (a log
 * receiver, a scratch server): on Linux, run under `setpriv --pdeathsig KILL`, so a worker
 * killed with SIGKILL leaves nothing holding a replication slot or writing into a spool.
 * Elsewhere, the command as it is.
 */
export function tiedToWorker(cmd: string, args: string[]): [string, string[]] {
  return existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'KILL', '--', cmd, ...args]] : [cmd, args];
}

const SETPRIV = '/usr/bin/setpriv';
