/**
 * Finds the Temporal CLI (it holds the dev server and the Web UI) or builds it once
 * with Go. Order: $TEMPORAL_CLI_PATH, PATH, Go's bin directory, then `go install`;
 * with no Go, the SDK downloads the server itself (which needs internet).
 */
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { EphemeralServerExecutable } from '@temporalio/testing/lib/ephemeral-server';

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

type Log = (message: string) => void;

export function findTemporalCli(): string | undefined {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const candidates = [
    ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean),
    ...goBinDirectories(),
  ].map((dir) => path.join(dir, 'temporal'));
  return candidates.find(isExecutable);
}

/** The executable for the SDK's dev server: found, built with Go, or downloaded by the SDK. */
export async function ensureTemporalCli(log: Log): Promise<EphemeralServerExecutable> {
  const found = findTemporalCli();
  if (found) return { type: 'existing-path', path: found };
  if (goBinDirectories().length === 0) {
    log('No Temporal CLI and no Go toolchain found: the Temporal SDK will download the dev server.');
    return { type: 'cached-download' };
  }
  log(
    `Building the Temporal CLI with Go (${TEMPORAL_CLI_MODULE}); this happens once and takes a few minutes...`,
  );
  await buildWithGo(log);
  const built = findTemporalCli();
  if (!built) throw new Error("go install finished but no temporal binary was found in Go's bin directory");
  log(`Temporal CLI ready: ${built}`);
  return { type: 'existing-path', path: built };
}

function buildWithGo(log: Log): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('go', ['install', TEMPORAL_CLI_MODULE], { stdio: ['ignore', 'inherit', 'pipe'] });
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
      // "go: downloading ..." lines show that the build is moving.
      for (const line of chunk.toString().split('\n').filter(Boolean)) log(`  ${line}`);
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`go install ${TEMPORAL_CLI_MODULE} failed (${code}):\n${errors}`)),
    );
  });
}

function goBinDirectories(): string[] {
  try {
    const [gobin, gopath] = execFileSync('go', ['env', 'GOBIN', 'GOPATH'], { encoding: 'utf8' }).split('\n');
    return [gobin, ...gopath.split(path.delimiter).map((p) => p && path.join(p, 'bin'))].filter(Boolean);
  } catch {
    return [];
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// `node dist/temporal/cli-binary.js` prints the CLI's path, building it first if needed.
if (require.main === module) {
  ensureTemporalCli((m) => console.error(m)).then(
    (exe) => console.log(exe.type === 'existing-path' ? exe.path : 'sdk-download'),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
