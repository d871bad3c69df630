/**
 * The throwaway nats-server a NATS restore stages in. JetStream restores a stream only
 * under its own name, so staging cannot sit beside the live stream: the snapshot is
 * restored into a server of our own (JetStream on, a store directory named after the
 * run, a free port on 127.0.0.1) and checked there before the live stream is touched.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { freePort, waitForPort } from '../../tools/local-server';

export interface ScratchServer {
  url: string;
  stop(): Promise<void>;
}

/** The directory a run's scratch server keeps its store in: a retry finds an earlier attempt's. */
export function scratchDir(stagingId: string): string {
  return path.join(os.tmpdir(), `lazarus-nats-${stagingId}`);
}

const PID_FILE = 'nats-server.pid';

/** The nats-server binary: LAZARUS_NATS_SERVER, else `nats-server` on the PATH (sbin included). */
function binary(): { cmd: string; env: NodeJS.ProcessEnv } {
  const extra = ['/usr/local/sbin', '/usr/sbin', '/sbin'];
  return {
    cmd: process.env.LAZARUS_NATS_SERVER ?? 'nats-server',
    env: { ...process.env, PATH: [process.env.PATH ?? '', ...extra].join(':') },
  };
}

/**
 * Starts a scratch server on a fresh store directory; stopping it removes the directory.
 * `port`: where to listen (the demo's drill sandbox names one); default a free port.
 */
export async function startScratchServer(stagingId: string, port?: number): Promise<ScratchServer> {
  const dir = scratchDir(stagingId);
  await removeScratch(stagingId);
  await fs.mkdir(dir, { recursive: true });
  port ??= await freePort();
  const { cmd, env } = binary();
  const args = ['-js', '-sd', path.join(dir, 'jetstream'), '-a', '127.0.0.1', '-p', String(port)];
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 16_384) stderr += chunk.toString('utf8');
  });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new Error(
              `${cmd} is not installed on this worker: a NATS restore stages in a scratch nats-server (or set LAZARUS_NATS_SERVER)`,
            )
          : err,
      ),
    );
  });
  await spawned;
  const stop = async () => {
    await kill(child);
    await fs.rm(dir, { recursive: true, force: true });
  };
  try {
    await fs.writeFile(path.join(dir, PID_FILE), String(child.pid));
    await waitForPort('nats-server (staging)', port, child, () => stderr);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `127.0.0.1:${port}`, stop };
}

/**
 * Removes what a run's scratch server left: the server itself, if a worker died with it
 * running (found by the pid file, and only if that process is still a nats-server on
 * this directory), and its store directory.
 */
export async function removeScratch(stagingId: string): Promise<void> {
  const dir = scratchDir(stagingId);
  const pid = Number(await fs.readFile(path.join(dir, PID_FILE), 'utf8').catch(() => ''));
  if (pid > 0) {
    const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('nats-server') && cmdline.includes(dir)) {
      process.kill(pid, 'SIGTERM');
      await waitGone(pid);
    }
  }
  await fs.rm(dir, { recursive: true, force: true });
}

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  process.kill(pid, 'SIGKILL');
}

/**
 * SIGKILL: everything the server holds is thrown away, and a graceful stop waits for a
 * cut-off restore to time out on the server's side (seconds).
 */
function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
