/**
 * A PostgreSQL server of our own on a data directory: the scratch server a replay recovers
 * into, and the throwaway source tests and the demo capture from (tools/postgres-source.ts).
 * Settings are given on the command line, so they win over whatever the data directory's
 * files say (a base carries its source's postgresql.conf: port, archive_command...).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { tiedToWorker } from '../../shared/process';
import { closeSync, openSync, readFileSync, promises as fs } from 'node:fs';
import { waitForPort } from '../../../tools/local-server';
import { withSql, type PostgresStore } from './connection';
import { pgProgram, type RunAs } from './tools';

export interface ServerOptions {
  dataDir: string;
  port: number;
  /** Where the server's own log (stderr) goes: read for recovery's messages. */
  logFile: string;
  settings: Record<string, string>;
  runAs?: RunAs;
  /** The major version whose binaries to run. */
  major?: number;
}

/** Settings every server of ours gets: TCP on 127.0.0.1 only, no socket in a shared directory. */
const LOCAL_ONLY = { listen_addresses: '127.0.0.1', unix_socket_directories: '' };

export class PostgresServer {
  private child?: ChildProcess;
  private exit?: Promise<number | null>;

  constructor(readonly options: ServerOptions) {}

  get port(): number {
    return this.options.port;
  }

  /** Starts the postmaster and waits until it listens (a recovering server listens too). */
  async start(): Promise<void> {
    const { dataDir, port, logFile, settings, runAs, major } = this.options;
    const args = ['-D', dataDir];
    for (const [name, value] of Object.entries({ ...LOCAL_ONLY, ...settings, port: String(port) }))
      args.push('-c', `${name}=${value}`);
    const log = openSync(logFile, 'a');
    try {
      this.child = spawn(...tiedToWorker(pgProgram('postgres', major), args), {
        stdio: ['ignore', log, log],
        ...(runAs ?? {}),
      });
    } finally {
      closeSync(log);
    }
    const child = this.child;
    this.exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.once('error', () => {});
    await waitForPort('postgres', port, child, () => lastLines(readFileSync(logFile, 'utf8')));
  }

  /** Resolves with the exit code when the postmaster exits (undefined: not started). */
  get exited(): Promise<number | null> | undefined {
    return this.exit;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** A fast shutdown (SIGINT): open sessions are ended, everything committed is kept. */
  async stop(): Promise<void> {
    await this.signal('SIGINT');
  }

  /** SIGKILL to the postmaster: a crash, as the tests' crash case needs. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
    // The backends notice their postmaster is gone; a restart waits for the shared memory to be free.
    await new Promise((r) => setTimeout(r, 300));
  }

  async logText(): Promise<string> {
    return fs.readFile(this.options.logFile, 'utf8').catch(() => '');
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    if (!this.running) return;
    this.child!.kill(signal);
    await this.exit;
  }
}

/** Runs `sql` on the store's server; the client is closed whatever happens. */
export function query<T = Record<string, unknown>>(
  store: PostgresStore,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  return withSql(store, async (client) => (await client.query(sql, params)).rows as T[]);
}

/** Waits for the server to accept queries (it may still be starting up or recovering). */
export async function waitForQueries(
  connection: PostgresStore,
  server: PostgresServer,
  timeoutMs = 30_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await query(connection, 'SELECT 1');
      return;
    } catch (err) {
      if (!server.running) throw new Error(`postgres exited: ${lastLines(await server.logText())}`);
      if (Date.now() > until)
        throw new Error(`postgres did not accept queries within ${timeoutMs} ms: ${String(err)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The end of a server log, for error messages. */
export function lastLines(text: string, count = 8): string {
  return text.trim().split('\n').slice(-count).join('\n');
}
