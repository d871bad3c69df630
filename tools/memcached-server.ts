/**
 * A throwaway memcached for tests and the demo: Debian's memcached on a free port,
 * stopped when done. Its binary comes with the `memcached` package (tools/prerequisites.ts).
 */
import { spawn } from 'node:child_process';
import { freePort, stopProcess, waitForPort } from './local-server';

export interface MemcachedServer {
  port: number;
  stop(): Promise<void>;
}

export async function startMemcached(): Promise<MemcachedServer> {
  const port = await freePort();
  // -U 0: no UDP listener; -m 16: megabytes of memory, plenty for a test.
  const args = ['-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '16', '-u', 'nobody'];
  const child = spawn('memcached', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await waitForPort('memcached', port, child, () => stderr);
  return { port, stop: () => stopProcess(child) };
}
