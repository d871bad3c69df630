/**
 * Programs the PITR bench runs to their end (pgBackRest, pgbench, apt-get, `lazarus`):
 * output kept for the figures and for the error when one fails, and cleanup steps that
 * run whatever happened, in the reverse order they were added.
 */
import { spawn } from 'node:child_process';
import type { RunAs } from '../../datastores/postgres/capture/tools';

export interface RunOptions {
  runAs?: RunAs;
  env?: Record<string, string>;
  /** Killed (and the run failed) after this long. */
  timeoutMs?: number;
}

export interface RunOutput {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a program to its end; never rejects for its exit code (`check` does that). */
export function run(cmd: string, args: string[], options: RunOptions = {}): Promise<RunOutput> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
      timeout: options.timeoutMs,
      ...(options.runAs ?? {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

/** Runs a program that must succeed; its failure names the command and what it printed. */
export async function check(cmd: string, args: string[], options: RunOptions = {}): Promise<RunOutput> {
  const out = await run(cmd, args, options);
  if (out.code !== 0) {
    const said = (out.stderr.trim() || out.stdout.trim()).split('\n').slice(-6).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} exited with code ${out.code}:\n${said}`);
  }
  return out;
}

/** Cleanup steps, run last added first; one that fails is reported and the others still run. */
export class Cleanup {
  private steps: Array<{ name: string; step: () => Promise<unknown> }> = [];

  add(name: string, step: () => Promise<unknown>): void {
    this.steps.push({ name, step });
  }

  async run(): Promise<void> {
    for (const { name, step } of this.steps.splice(0).reverse()) {
      await step().catch((err: Error) => console.error(`cleanup: ${name}: ${err.message}`));
    }
  }
}
