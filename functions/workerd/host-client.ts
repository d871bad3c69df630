/**
 * Lazarus's side of a workerd host: attach to the one host.json announces (when its admin
 * API answers), else start one, detached so it outlives the caller, and wait until it answers.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type HostAnnouncement, type HostPaths, type HostStatus, readJsonFile } from './layout';

const START_TIMEOUT_MS = 60_000;
/** An admin call waits behind the host's other operations (a cold start takes about a second). */
const CALL_TIMEOUT_MS = 60_000;
/** A start lock older than this was left by a caller that died while starting a host. */
const STALE_LOCK_MS = START_TIMEOUT_MS + 5_000;

export class HostClient {
  constructor(readonly announcement: HostAnnouncement) {}

  async call(method: 'GET' | 'POST', route: string): Promise<HostStatus> {
    const res = await fetch(`${this.announcement.admin}${route}`, {
      method,
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    const body = (await res.json()) as HostStatus;
    if (!res.ok) throw new Error(`workerd host ${this.announcement.pid}: ${method} ${route}: ${body.error}`);
    return body;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The host host.json announces, when it is alive and answers; undefined otherwise. */
export async function attachHost(paths: HostPaths): Promise<HostClient | undefined> {
  return (await attach(paths))?.client;
}

async function attach(paths: HostPaths): Promise<{ client: HostClient; status: HostStatus } | undefined> {
  const announced = await readJsonFile<HostAnnouncement>(paths.hostJson).catch(() => undefined);
  if (!announced || !alive(announced.pid)) return undefined;
  const client = new HostClient(announced);
  try {
    return { client, status: await client.call('GET', '/status') };
  } catch {
    return undefined; // a pid reused by another process, or a host on its way out
  }
}

/** Attaches to the function's host, or starts it. `started`: this call started it. */
export async function attachOrRun(
  paths: HostPaths,
): Promise<{ client: HostClient; status: HostStatus; started: boolean }> {
  const found = await attach(paths);
  if (found) return { ...found, started: false };
  await fs.mkdir(paths.hostDir, { recursive: true });
  const deadline = Date.now() + START_TIMEOUT_MS;
  // One caller starts the host; the others wait for its announcement.
  while (!(await takeStartLock(paths))) {
    if (Date.now() > deadline)
      throw new Error(`workerd host for ${paths.state}: another caller's start did not finish`);
    await sleep(100);
    const other = await attach(paths);
    if (other) return { ...other, started: false };
  }
  try {
    const again = await attach(paths);
    if (again) return { ...again, started: false };
    return { ...(await startHost(paths)), started: true };
  } finally {
    await fs.rm(paths.startLock, { force: true });
  }
}

async function takeStartLock(paths: HostPaths): Promise<boolean> {
  try {
    await (await fs.open(paths.startLock, 'wx')).close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const stat = await fs.stat(paths.startLock).catch(() => undefined);
    if (stat && Date.now() - stat.mtimeMs > STALE_LOCK_MS) await fs.rm(paths.startLock, { force: true });
    return false;
  }
}

async function startHost(paths: HostPaths): Promise<{ client: HostClient; status: HostStatus }> {
  const log = await fs.open(paths.log, 'a');
  const child = spawn(process.execPath, [hostEntry(), paths.state], {
    detached: true,
    stdio: ['ignore', log.fd, log.fd],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });
  await log.close();
  let exitCode: number | null | undefined;
  child.on('exit', (code) => (exitCode = code));
  child.unref();
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exitCode !== undefined)
      throw new Error(
        `workerd host for ${paths.state} exited with code ${exitCode}: ${await logTail(paths)}`,
      );
    const announced = await readJsonFile<HostAnnouncement>(paths.hostJson).catch(() => undefined);
    if (announced?.pid === child.pid) {
      const found = await attach(paths);
      if (found) return found;
    }
    await sleep(50);
  }
  throw new Error(
    `workerd host for ${paths.state} did not answer within ${START_TIMEOUT_MS} ms: ${await logTail(paths)}`,
  );
}

async function logTail(paths: HostPaths): Promise<string> {
  const text = await fs.readFile(paths.log, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-5).join('\n') || `(nothing in ${paths.log})`;
}

/**
 * The compiled host entry: beside this file in dist/, or, when this file runs from source
 * (ts-jest), in the checkout's dist/ (built by `npm run build`).
 */
function hostEntry(): string {
  const candidates = [
    path.join(__dirname, 'host-main.js'),
    path.resolve(__dirname, '..', '..', 'dist', 'functions', 'workerd', 'host-main.js'),
  ];
  const found = candidates.find((file) => existsSync(file));
  if (!found)
    throw new Error(`the workerd host is not built (none of ${candidates.join(', ')}): run npm run build`);
  return found;
}

/**
 * Stops the function's host, if one runs, leaving its state: a host stops once host.json no
 * longer names it (and its workerd with it). Waits until the process is gone.
 */
export async function stopHost(paths: HostPaths): Promise<void> {
  const announced = await readJsonFile<HostAnnouncement>(paths.hostJson).catch(() => undefined);
  await fs.rm(paths.hostJson, { force: true });
  if (!announced) return;
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (alive(announced.pid)) {
    if (Date.now() > deadline) {
      process.kill(announced.pid, 'SIGKILL');
      break;
    }
    await sleep(100);
  }
}
