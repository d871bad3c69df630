/**
 * A real toxiproxy server for the fault tests: each proxy sits between Lazarus and one
 * real server (PostgreSQL, versitygw) and is told, through toxiproxy's HTTP API, to
 * refuse, reset or stall its connections.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { ensureToxiproxy } from '../../tools/toxiproxy';
import { freePort, stopProcess, waitForPort } from '../../tools/local-server';

export type Toxic =
  | { type: 'reset_peer'; attributes: { timeout: number } }
  | { type: 'timeout'; attributes: { timeout: number } }
  | { type: 'latency'; attributes: { latency: number; jitter?: number } }
  | { type: 'bandwidth'; attributes: { rate: number } }
  | { type: 'limit_data'; attributes: { bytes: number } };

export interface Proxy {
  /** Where clients connect instead of the real server. */
  port: number;
  /** Adds a toxic on both directions (or one); returns a function that removes it. */
  toxic(toxic: Toxic, stream?: 'upstream' | 'downstream'): Promise<() => Promise<void>>;
  /** Disabled: new connections are refused and open ones are closed. */
  setEnabled(enabled: boolean): Promise<void>;
}

export interface Toxiproxy {
  /** toxiproxy's HTTP API, for a test's hook command to call with curl. */
  apiUrl: string;
  proxy(name: string, upstreamPort: number): Promise<Proxy>;
  stop(): Promise<void>;
}

export async function startToxiproxy(): Promise<Toxiproxy> {
  const executable = await ensureToxiproxy(() => {});
  const apiPort = await freePort();
  const child: ChildProcess = spawn(executable, ['-host', '127.0.0.1', '-port', String(apiPort)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4096)));
  await waitForPort('toxiproxy', apiPort, child, () => stderr);
  const api = async (method: string, route: string, body?: unknown) => {
    const response = await fetch(`http://127.0.0.1:${apiPort}${route}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok)
      throw new Error(`toxiproxy ${method} ${route}: ${response.status} ${await response.text()}`);
  };
  let toxics = 0;
  return {
    apiUrl: `http://127.0.0.1:${apiPort}`,
    async proxy(name, upstreamPort) {
      const port = await freePort();
      await api('POST', '/proxies', {
        name,
        listen: `127.0.0.1:${port}`,
        upstream: `127.0.0.1:${upstreamPort}`,
        enabled: true,
      });
      return {
        port,
        async toxic(toxic, stream) {
          const streams = stream ? [stream] : (['upstream', 'downstream'] as const);
          const names = streams.map((s) => `${toxic.type}-${s}-${++toxics}`);
          for (const [i, s] of streams.entries()) {
            await api('POST', `/proxies/${name}/toxics`, {
              ...toxic,
              name: names[i],
              stream: s,
              toxicity: 1,
            });
          }
          return async () => {
            for (const toxicName of names) await api('DELETE', `/proxies/${name}/toxics/${toxicName}`);
          };
        },
        setEnabled: (enabled) => api('POST', `/proxies/${name}`, { enabled }),
      };
    },
    stop: () => stopProcess(child),
  };
}
