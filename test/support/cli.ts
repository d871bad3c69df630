import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import path from 'node:path';

const CLI = path.resolve(__dirname, '..', '..', 'dist', 'client', 'cli.js');

/** Runs the built `lazarus` command as a user would; `input` is its stdin. */
export function lazarus(args: string[], env: Record<string, string> = {}, input?: string) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    input,
    timeout: 120_000,
  });
  return { code: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Starts a long-running `lazarus` command and resolves once it prints `readyText` on
 * stderr; `printed()` is what it printed there so far.
 */
export async function startLazarus(
  args: string[],
  readyText: string,
  env: Record<string, string> = {},
): Promise<ChildProcess & { printed(): string }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(readyText)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`lazarus ${args[0]} exited early (${code}): ${output}`)));
  });
  return Object.assign(child, { printed: () => output });
}

/** Runs `lazarus` without blocking the test, so that something can happen to it meanwhile. */
export function lazarusInBackground(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, exited };
}
