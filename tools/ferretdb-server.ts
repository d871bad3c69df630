/**
 * A real MongoDB-wire server for tests: FerretDB v1.24.2 on its SQLite backend, in a
 * directory of its own, on a free port. A plain `go install` of its command panics on a
 * version check (its module ships no build/version/version.txt), so tools/ferretdb is a
 * module of ours that vendors FerretDB, adds that file and builds the command: every CLI
 * flag stays (--debug-addr, --telemetry, SCRAM users for the auth tests), which the
 * embeddable package lacks. `node dist/tools/ferretdb-server.js` builds it if needed and
 * prints its path.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../config/package-root';
import { type GoTool, type Log, ensureGoTool } from './go-tool';
import { freePort, stopProcess, waitForPort } from './local-server';

const VERSION = 'v1.24.2';

export const FERRETDB: GoTool = {
  // Not `ferretdb`: that is the name a plain `go install` gives its panicking binary.
  name: 'lazarus-ferretdb',
  module: `github.com/FerretDB/FerretDB/cmd/ferretdb@${VERSION}`,
  envVar: 'LAZARUS_FERRETDB_PATH',
  source: {
    dir: path.join(packageRoot(), 'tools', 'ferretdb'),
    package: 'github.com/FerretDB/FerretDB/cmd/ferretdb',
    vendorFiles: { 'github.com/FerretDB/FerretDB/build/version/version.txt': `${VERSION}\n` },
  },
};

export interface FerretServer {
  /** A mongodb:// URL without credentials. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface FerretOptions {
  /** SCRAM authentication with this one user (FerretDB's "new auth"). */
  user?: { name: string; password: string };
  /** The port to listen on (the demo's manifest names one); default: a free one. */
  port?: number;
}

/** Starts FerretDB over a fresh SQLite directory under `dataDir`; `stop` ends it. */
export async function startFerretDB(
  dataDir: string,
  options: FerretOptions = {},
  log: Log = () => {},
): Promise<FerretServer> {
  const executable = await ensureGoTool(FERRETDB, log);
  const [port, debugPort] = [options.port ?? (await freePort()), await freePort()];
  await fs.mkdir(dataDir, { recursive: true });
  const auth = options.user
    ? [
        '--test-enable-new-auth',
        `--setup-username=${options.user.name}`,
        `--setup-password=${options.user.password}`,
        '--setup-database=admin',
      ]
    : [];
  const child = spawn(
    executable,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${dataDir}/`,
      `--state-dir=${dataDir}`,
      `--listen-addr=127.0.0.1:${port}`,
      // Each instance its own: the default (:8088) would clash between two servers.
      `--debug-addr=127.0.0.1:${debugPort}`,
      '--telemetry=disable',
      '--log-level=warn',
      ...auth,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await waitForPort('ferretdb', port, child, () => stderr);
  return { url: `mongodb://127.0.0.1:${port}`, port, stop: () => stopProcess(child) };
}

if (require.main === module) {
  ensureGoTool(FERRETDB, (m) => console.error(m)).then(
    (file) => console.log(file),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
