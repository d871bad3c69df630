/**
 * The embedded default: a local Temporal dev server (the Temporal CLI's `server start-dev`)
 * with a persistent SQLite file and the Web UI, for `lazarus dev`, the demo and the tests.
 *
 * We start the CLI ourselves instead of through the SDK's TestWorkflowEnvironment.createLocal,
 * which kills the server if it does not answer within 5 s and then gives the client 10 s to
 * connect: a first start (a new binary, a new SQLite file, a loaded machine) can take longer.
 * Here the wait lasts as long as a first start takes, bounded, and says what it waits for.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection } from '@temporalio/worker';
import { freePort } from '../tools/local-server';
import type { Log } from '../tools/go-tool';
import { allSearchAttributes } from '../contracts/search-attributes';
import { ensureTemporalCli } from './cli-binary';

export interface DevServer {
  address: string;
  uiUrl?: string;
  client: Client;
  /** For workers in this process. */
  nativeConnection: NativeConnection;
  /** Closes both connections and stops the server. */
  stop(): Promise<void>;
}

export interface DevServerOptions {
  /** Keeps the server's SQLite file; omitted: everything lives in memory. */
  stateDir?: string;
  port?: number;
  /** Serves the Web UI on this port; omitted: no UI. */
  uiPort?: number;
  /** Registers Lazarus's search attributes at start (the default); false: a bare server. */
  searchAttributes?: boolean;
  /** How long a start may take before we give up and stop the server (default 5 minutes). */
  readyTimeoutMs?: number;
  log: Log;
}

const NAMESPACE = 'default';
const READY_TIMEOUT_MS = 5 * 60_000;
/** A start after the first serves within a second or two: only a slower one is worth a word. */
const QUIET_MS = 3_000;
const REMIND_EVERY_MS = 30_000;
const STOP_GRACE_MS = 10_000;

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const executable = await ensureTemporalCli(options.log);
  if (executable.type !== 'existing-path') return startDownloadedServer(options);
  const port = options.port ?? (await freePort());
  const address = `127.0.0.1:${port}`;
  const server = launch(executable.path, cliArguments(port, options));
  try {
    await waitUntilServing(address, server, options);
    const connection = await Connection.connect({ address, channelArgs: OWN_SUBCHANNELS });
    const nativeConnection = await NativeConnection.connect({ address });
    const stop = async () => {
      await Promise.all([connection.close(), nativeConnection.close()]);
      await server.stop();
    };
    const client = new Client({ connection, namespace: NAMESPACE });
    return { address, uiUrl: uiUrl(options), client, nativeConnection, stop };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/**
 * grpc-js shares the connections to one address through a global pool of subchannels, and
 * a subchannel that failed to connect waits out a reconnect backoff that grows to two
 * minutes: the demo's check for a running server, made before a four-minute first build of
 * the CLI, left every later client of that address unable to connect within its deadline.
 * Our connections keep their own.
 */
const OWN_SUBCHANNELS = { 'grpc.use_local_subchannel_pool': 1 };

/**
 * Why a Temporal frontend at `address` does not answer or know the namespace (a worker's
 * first call needs both), or undefined when it does.
 */
export async function connectProblem(
  address: string,
  timeoutMs: number,
  namespace = NAMESPACE,
): Promise<string | undefined> {
  const connection = Connection.lazy({
    address,
    connectTimeout: timeoutMs,
    channelArgs: OWN_SUBCHANNELS,
  });
  try {
    await connection.ensureConnected();
    await connection.withDeadline(Date.now() + timeoutMs, () =>
      connection.workflowService.describeNamespace({ namespace }),
    );
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await connection.close();
  }
}

function cliArguments(port: number, options: DevServerOptions): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', NAMESPACE];
  args.push('--log-format', 'pretty', '--log-level', 'warn');
  // As the SDK's dev server: no call home for a version check (and none of its wait offline).
  args.push('--dynamic-config-value', 'frontend.enableServerVersionCheck=false');
  const dbFilename = databaseFile(options);
  if (dbFilename) args.push('--db-filename', dbFilename);
  args.push(...(options.uiPort !== undefined ? ['--ui-port', String(options.uiPort)] : ['--headless']));
  for (const key of options.searchAttributes === false ? [] : allSearchAttributes)
    args.push('--search-attribute', `${key.name}=${TypedSearchAttributes.toMetadataType(key.type)}`);
  return args;
}

interface Launched {
  /** Why the process is gone ("exited with code 1"), or undefined while it runs. */
  ended(): string | undefined;
  /** The end of what it wrote on stderr, for error messages. */
  stderr(): string;
  stop(): Promise<void>;
}

function launch(executable: string, args: string[]): Launched {
  const child = spawn(executable, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let failed: string | undefined;
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  child.on('error', (err) => (failed = `could not be started (${err.message})`));
  // process.exit() (the CLI's error path) skips every finally: the server must not outlive us.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  return {
    ended: () =>
      failed ?? (child.exitCode !== null || child.signalCode !== null ? exitDescription(child) : undefined),
    stderr: () => stderr.trim(),
    stop: async () => {
      process.off('exit', killOnExit);
      await stopProcess(child);
    },
  };
}

async function waitUntilServing(address: string, server: Launched, options: DevServerOptions): Promise<void> {
  const timeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  const started = Date.now();
  let nextWord = QUIET_MS;
  for (;;) {
    const ended = server.ended();
    if (ended) throw new Error(`the Temporal dev server ${ended} before it was ready${details(server)}`);
    const problem = await connectProblem(address, Math.min(5_000, timeoutMs));
    if (!problem) return;
    const waited = Date.now() - started;
    if (waited >= timeoutMs)
      throw new Error(
        `the Temporal dev server at ${address} was not ready after ${seconds(waited)} (${problem}); it was stopped${details(server)}`,
      );
    if (waited >= nextWord) {
      options.log(waitingMessage(address, waited, timeoutMs));
      nextWord = waited + REMIND_EVERY_MS;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function waitingMessage(address: string, waited: number, timeoutMs: number): string {
  return waited < REMIND_EVERY_MS
    ? `Waiting for the Temporal dev server on ${address} to accept connections (a first start creates its ` +
        `database and can take a few minutes here; giving up after ${seconds(timeoutMs)})...`
    : `  still waiting for the Temporal dev server (${seconds(waited)})...`;
}

/** SIGTERM lets the server close its SQLite file cleanly; SIGKILL if it does not stop in time. */
function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined)
    return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** With no CLI and no Go, the SDK downloads the server and starts it itself (with its own, shorter, wait). */
async function startDownloadedServer(options: DevServerOptions): Promise<DevServer> {
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'cached-download' },
      ip: '127.0.0.1',
      port: options.port,
      dbFilename: databaseFile(options),
      ui: options.uiPort !== undefined,
      uiPort: options.uiPort,
      searchAttributes: options.searchAttributes === false ? [] : allSearchAttributes,
      log: { format: 'pretty', level: 'warn' },
    },
  });
  const { address, client, nativeConnection } = env;
  return { address, uiUrl: uiUrl(options), client, nativeConnection, stop: () => env.teardown() };
}

function databaseFile(options: DevServerOptions): string | undefined {
  if (!options.stateDir) return undefined;
  mkdirSync(options.stateDir, { recursive: true });
  return path.join(options.stateDir, 'temporal.db');
}

function uiUrl(options: DevServerOptions): string | undefined {
  return options.uiPort !== undefined ? `http://127.0.0.1:${options.uiPort}` : undefined;
}

function exitDescription(child: ChildProcess): string {
  return child.signalCode ? `was killed (${child.signalCode})` : `exited with code ${child.exitCode}`;
}

function details(server: Launched): string {
  const stderr = server.stderr();
  return stderr ? `:\n${stderr}` : '';
}

function seconds(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}
