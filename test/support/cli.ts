import { spawnSync } from 'node:child_process';
import path from 'node:path';

const CLI = path.resolve(__dirname, '..', '..', 'dist', 'client', 'cli.js');

/** Runs the built `lazarus` command as a user would. */
export function lazarus(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
