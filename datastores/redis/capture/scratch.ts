/**
 * A redis-server of our own: a directory, a free port on 127.0.0.1, no persistence unless
 * asked. Serves a replay's scratch copy and the tests' throwaway sources (tools/redis-source.ts).
 */
import { spawn } from 'node:child_process';
import { tiedToWorker } from '../../shared/process';
import type { ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import Redis from 'ioredis';
import { freePort, waitForPort } from '../../../tools/local-server';
import { THROWAWAY_SETTINGS, untilAnswering } from '../throwaway';

export interface RedisProcess {
  port: number;
  dir: string;
  /** SHUTDOWN (saving if the server persists), then waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port, directory and settings. */
  restart(): Promise<void>;
}

export interface RedisProcessOptions {
  dir: string;
  port?: number;
  /** Settings after the defaults (`--appendonly yes`, `--repl-backlog-size 64mb`...). */
  args?: string[];
}

export async function startRedisProcess(options: RedisProcessOptions): Promise<RedisProcess> {
  await fs.mkdir(options.dir, { recursive: true });
  const port = options.port ?? (await freePort());
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    options.dir,
    '--daemonize',
    'no',
    ...THROWAWAY_SETTINGS,
    ...(options.args ?? []),
  ];
  let child = await launch(args, port);
  return {
    port,
    dir: options.dir,
    stop: () => shutdown(child, port),
    kill: () => killed(child),
    async restart() {
      child = await launch(args, port);
    },
  };
}

async function launch(args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(...tiedToWorker('redis-server', args), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    if (output.length < 16_384) output += chunk.toString('utf8');
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new Error('redis-server is not installed on this worker (apt-get install redis-server)')
          : err,
      ),
    );
  });
  await waitForPort('redis-server', port, child, () => output);
  await waitLoaded(port, child, () => output);
  return child;
}

/** PING answers LOADING until the dataset is in memory. */
function waitLoaded(port: number, child: ChildProcess, output: () => string): Promise<void> {
  return untilAnswering(
    { port, host: '127.0.0.1' },
    {
      attempts: 600,
      pauseMs: 50,
      exited: () =>
        child.exitCode !== null ? `redis-server exited (${child.exitCode}): ${output()}` : undefined,
    },
  );
}

async function shutdown(child: ChildProcess, port: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const admin = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  admin.on('error', () => {});
  // SHUTDOWN closes the connection instead of replying: its "error" is the success.
  await admin.connect().then(
    () => admin.shutdown().catch(() => {}),
    () => child.kill('SIGTERM'),
  );
  admin.disconnect();
  await exited;
}

function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
