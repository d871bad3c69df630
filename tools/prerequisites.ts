/**
 * What the test suite needs beyond npm packages, installed or built when missing: `npm test`
 * runs this before jest, so that the README's test command works on a fresh machine. When
 * everything is there it only looks for files.
 *
 * Debian packages (apt-get when we are root, else the command to run): chromium, the Web UI
 * test's browser; postgresql-client and mariadb-client, the dump tools the adapters run;
 * memcached, a cache the tests start.
 * Go tools, built once with `go install`: the Temporal CLI, versitygw, toxiproxy and AWS's Lambda
 * Runtime Interface Emulator (the aws-lambda tests run function code through it); FerretDB
 * (the MongoDB tests' server), built once from tools/ferretdb.
 */
import { execFileSync } from 'node:child_process';
import { ensureTemporalCli } from '../temporal/cli-binary';
import { isExecutable, isInstalled } from './executables';
import { type Log, ensureGoTool } from './go-tool';
import { FERRETDB } from './ferretdb-server';
import { ensureLambdaRie } from './lambda-rie';
import { VERSITYGW } from './s3-server';
import { ensureToxiproxy } from './toxiproxy';

/** The Web UI test's browser: $LAZARUS_CHROMIUM, else Debian's chromium. */
export function chromiumPath(): string {
  return process.env.LAZARUS_CHROMIUM ?? '/usr/bin/chromium';
}

interface DebianPackage {
  name: string;
  /** Absolute paths, or commands on PATH, that show it is installed. */
  provides: string[];
}

function debianPackages(): DebianPackage[] {
  return [
    // A browser of the user's own ($LAZARUS_CHROMIUM) is not replaced by Debian's.
    ...(process.env.LAZARUS_CHROMIUM ? [] : [{ name: 'chromium', provides: [chromiumPath()] }]),
    { name: 'postgresql-client', provides: ['pg_dump', 'pg_restore', 'psql'] },
    { name: 'mariadb-client', provides: ['mariadb-dump', 'mariadb'] },
    // A cache the tests and the demo start: flushed after the store it fronts is restored.
    { name: 'memcached', provides: ['memcached'] },
  ];
}

export async function ensurePrerequisites(log: Log): Promise<void> {
  if (process.env.LAZARUS_CHROMIUM && !isExecutable(chromiumPath()))
    throw new Error(`LAZARUS_CHROMIUM=${chromiumPath()} is not an executable file`);
  installDebianPackages(
    debianPackages()
      .filter((p) => !p.provides.every(isInstalled))
      .map((p) => p.name),
    log,
  );
  await ensureTemporalCli(log);
  await ensureGoTool(VERSITYGW, log);
  await ensureToxiproxy(log);
  await ensureLambdaRie(log);
  await ensureGoTool(FERRETDB, log);
}

function installDebianPackages(names: string[], log: Log): void {
  if (names.length === 0) return;
  const list = names.join(' ');
  if (!isInstalled('apt-get'))
    throw new Error(
      `the tests need ${list} (Debian's package names): install them with this system's package manager`,
    );
  if (process.getuid?.() !== 0)
    throw new Error(
      `the tests need the Debian packages ${list}; install them with: sudo apt-get install -y ${list}`,
    );
  log(`The tests need the Debian packages ${list}: installing them with apt-get (once)...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', ...names],
  ]) {
    try {
      execFileSync('apt-get', args, { stdio: 'inherit', env });
    } catch {
      throw new Error(`apt-get ${args.join(' ')} failed (its output is above)`);
    }
  }
}

// `npm test` runs `node dist/tools/prerequisites.js` before jest.
if (require.main === module) {
  ensurePrerequisites((m) => console.error(m)).catch((err: Error) => {
    console.error(`npm test: ${err.message}`);
    process.exit(1);
  });
}
