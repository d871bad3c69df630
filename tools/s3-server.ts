/**
 * A real S3-compatible server for tests and benchmarks: versitygw, a gateway that serves
 * a local directory over the S3 API. It installs from the Go module proxy, so it builds
 * here like the Temporal CLI. `node dist/tools/s3-server.js` builds it if needed and
 * prints its path.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { type GoTool, type Log, ensureGoTool } from './go-tool';
import { freePort, stopProcess, waitForPort } from './local-server';

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
  await waitForPort('versitygw', port, child, () => stderr);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    accessKey,
    secretKey,
    stop: () => stopProcess(child),
  };
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
