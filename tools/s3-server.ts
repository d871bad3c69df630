/**
 * A real S3-compatible server for tests and benchmarks: versitygw, a gateway that serves
 * a local directory over the S3 API. It installs from the Go module proxy, so it builds
 * here like the Temporal CLI. `node dist/tools/s3-server.js` builds it if needed and
 * prints its path.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import { freePort } from './free-port';
import { type GoTool, type Log, ensureGoTool } from './go-tool';

export const VERSITYGW: GoTool = {
  name: 'versitygw',
  module: 'github.com/versity/versitygw/cmd/versitygw@v1.8.0',
  envVar: 'VERSITYGW_PATH',
};

export interface S3Server {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  stop(): Promise<void>;
}

/** Starts a server over `dataDir` on a free port, with one bucket per name in `buckets`. */
export async function startS3Server(
  dataDir: string,
  buckets: string[],
  log: Log = () => {},
): Promise<S3Server> {
  const executable = await ensureGoTool(VERSITYGW, log);
  const port = await freePort();
  await fs.mkdir(dataDir, { recursive: true });
  // versitygw's posix backend serves each top-level directory as a bucket.
  await Promise.all(buckets.map((bucket) => fs.mkdir(`${dataDir}/${bucket}`, { recursive: true })));
  const accessKey = 'lazarus-test';
  const secretKey = 'lazarus-test-secret';
  const child = spawn(
    executable,
    ['--access', accessKey, '--secret', secretKey, '--port', `127.0.0.1:${port}`, 'posix', dataDir],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await waitForPort(port, child, () => stderr);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    accessKey,
    secretKey,
    stop: () => stopProcess(child),
  };
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`versitygw exited (${child.exitCode}): ${stderr()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`versitygw did not listen on port ${port} within 10 s: ${stderr()}`);
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

if (require.main === module) {
  ensureGoTool(VERSITYGW, (m) => console.error(m)).then(
    (file) => console.log(file),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
