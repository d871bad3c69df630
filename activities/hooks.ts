/**
 * Hooks: a user's command or HTTP call around a step. A hook's own failure is returned,
 * not thrown, so the workflow decides (on_error) whether the step fails or goes on; only
 * the loss of the worker makes Temporal retry it.
 */
import { Context } from '@temporalio/activity';
import { spawn } from 'node:child_process';
import type { Hook } from '../model/manifest';
import type { FeatureDeps } from './deps';
import { withHeartbeats } from './support';

/** What a hook is told about the step it runs for: LAZARUS_* variables, or an HTTP JSON body. */
export type HookContext = Record<string, string | number | undefined>;

export interface HookResult {
  ok: boolean;
  /** The HTTP status, for an HTTP hook that got a response. */
  status?: number;
  /** The exit code or HTTP status, and the tail of what the hook printed. */
  detail: string;
  durationMs: number;
}

export function hookActivities({ runHookOnce }: Pick<FeatureDeps, 'runHookOnce'>) {
  return {
    /** Runs a user's hook; its failure is returned for the workflow to weigh (on_error). */
    async runHook(input: { hook: Hook; context: HookContext }): Promise<HookResult> {
      return withHeartbeats(() =>
        runHookOnce(input.hook, input.context, Context.current().cancellationSignal),
      );
    },
  };
}

/** The hook runner the worker gives its activities. */
export async function runHookOnce(
  hook: Hook,
  context: HookContext,
  signal?: AbortSignal,
): Promise<HookResult> {
  const started = Date.now();
  const { ok, detail, status } =
    'command' in hook
      ? await runCommand(hook.command, context, hook.timeout, signal)
      : await callHttp(hook.http, context, hook.timeout, signal);
  return { ok, detail, status, durationMs: Date.now() - started };
}

/** {app: 'shop', freezeTimeoutMs: 2000} -> {LAZARUS_APP: 'shop', LAZARUS_FREEZE_TIMEOUT_MS: '2000'} */
export function hookEnvironment(context: HookContext): Record<string, string> {
  return Object.fromEntries(
    Object.entries(context)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => [
        `LAZARUS_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`,
        String(value),
      ]),
  );
}

function runCommand(
  command: string,
  context: HookContext,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ ok: boolean; detail: string; status?: number }> {
  return new Promise((resolve) => {
    // Its own process group, so a timeout ends whatever the shell started too.
    const child = spawn('sh', ['-c', command], {
      env: { ...process.env, ...hookEnvironment(context) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let killedBy: string | undefined;
    const kill = (why: string) => {
      killedBy ??= why;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => kill(`timed out after ${timeoutMs} ms`), timeoutMs);
    const onAbort = () => kill('cancelled');
    signal?.addEventListener('abort', onAbort, { once: true });
    let output = '';
    const keepTail = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-2000));
    child.stdout.on('data', keepTail);
    child.stderr.on('data', keepTail);
    child.on('error', (err) => resolve({ ok: false, detail: err.message }));
    child.on('close', (code) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      const tail = output.trim();
      if (code === 0 && !killedBy) return resolve({ ok: true, detail: tail });
      const why = killedBy ?? `exited with code ${code}`;
      resolve({ ok: false, detail: tail ? `${why}: ${tail}` : why });
    });
  });
}

async function callHttp(
  http: { url: string; method: string },
  context: HookContext,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ ok: boolean; detail: string; status?: number }> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(http.url, {
      method: http.method,
      headers: { 'content-type': 'application/json' },
      body: http.method === 'GET' ? undefined : JSON.stringify(context),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    const body = (await response.text()).slice(-2000).trim();
    const detail = `HTTP ${response.status}${body ? `: ${body}` : ''}`;
    return { ok: response.ok, detail, status: response.status };
  } catch (err) {
    const why = timeout.aborted ? `timed out after ${timeoutMs} ms` : (err as Error).message;
    return { ok: false, detail: `${http.method} ${http.url}: ${why}` };
  }
}
