/**
 * A mariadbd of our own: a data directory initialised with mariadb-install-db, a my.cnf
 * beside it, a free port on 127.0.0.1. A replay recovers into one; tools/mariadb-source.ts
 * starts one configured as a capture source. Stopping it leaves its directory to the caller.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { tiedToWorker } from '../../shared/process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { freePort, stopProcess, waitForPort } from '../../../tools/local-server';
import { commandOutput } from '../../shared/process';

export interface ServerOptions {
  /** Holds data/, my.cnf and the error log. */
  dir: string;
  serverId: number;
  /** Settings added to [mariadbd] (log-bin, binlog-format...), as my.cnf lines. */
  settings?: string[];
  port?: number;
}

export interface LocalServer {
  port: number;
  dir: string;
  /** SIGTERM, waits for the exit: a clean shutdown. */
  stop(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same directory and port (after stop or kill). */
  restart(): Promise<void>;
}

/** Root may run mariadbd only when told to (`user=root`); anyone else runs it as themselves. */
const runAsRoot = () => process.getuid?.() === 0;

function myCnf(options: ServerOptions & { port: number }): string {
  const { dir } = options;
  return [
    '[mariadbd]',
    ...(runAsRoot() ? ['user=root'] : []),
    `datadir=${path.join(dir, 'data')}`,
    `socket=${path.join(dir, 'mariadbd.sock')}`,
    `pid-file=${path.join(dir, 'mariadbd.pid')}`,
    `log-error=${path.join(dir, 'error.log')}`,
    `port=${options.port}`,
    'bind-address=127.0.0.1',
    `server-id=${options.serverId}`,
    'skip-name-resolve',
    'innodb-buffer-pool-size=32M',
    ...(options.settings ?? []),
    '',
  ].join('\n');
}

/** Initialises `dir` (unless it already holds a data directory) and starts the server. */
export async function startLocalServer(options: ServerOptions): Promise<LocalServer> {
  const port = options.port ?? (await freePort());
  const cnf = path.join(options.dir, 'my.cnf');
  await fs.mkdir(options.dir, { recursive: true });
  await fs.writeFile(cnf, myCnf({ ...options, port }));
  const initialised = await fs.stat(path.join(options.dir, 'data', 'mysql')).then(
    () => true,
    () => false,
  );
  if (!initialised) await installDb(cnf);
  let child = await launch(cnf, port, options.dir);
  return {
    port,
    dir: options.dir,
    stop: () => stopProcess(child),
    kill: () => killProcess(child),
    async restart() {
      await stopProcess(child);
      child = await launch(cnf, port, options.dir);
    },
  };
}

async function installDb(cnf: string): Promise<void> {
  const output = commandOutput({
    cmd: 'mariadb-install-db',
    args: [`--defaults-file=${cnf}`, '--auth-root-authentication-method=normal', '--skip-test-db'],
  });
  // Drained only to wait for it: its chatter is of no use, its failure is (with stderr).
  output.resume();
  await finished(output);
}

async function launch(cnf: string, port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(...tiedToWorker('mariadbd', [`--defaults-file=${cnf}`]), {
    stdio: 'ignore',
    env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/usr/local/sbin` },
  });
  child.on('error', () => {}); // reported by waitForPort as an exit
  const errorLog = () => readTail(path.join(dir, 'error.log'));
  let logged = '';
  await waitForPort('mariadbd', port, child, () => logged).catch(async (err: Error) => {
    logged = await errorLog();
    throw new Error(`${err.message}\n${logged}`);
  });
  return child;
}

async function readTail(file: string): Promise<string> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  return text.slice(-4000);
}

function killProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
