/**
 * The PostgreSQL programs capture and replay run, and the OS user the servers run as.
 * A physical base and its WAL replay only on the server's own major version, so the
 * binaries come from that version's directory, not whatever `pg_*` the PATH finds first.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs, readdirSync } from 'node:fs';
import path from 'node:path';

const DEBIAN_ROOT = '/usr/lib/postgresql';

export type PgProgram =
  'initdb' | 'postgres' | 'pg_basebackup' | 'pg_receivewal' | 'pg_waldump' | 'pg_controldata';

/** The directory of a major version's binaries: LAZARUS_PG_BIN, else Debian's layout. */
export function binDir(major?: number): string | undefined {
  if (process.env.LAZARUS_PG_BIN) return process.env.LAZARUS_PG_BIN;
  if (major !== undefined) {
    const dir = path.join(DEBIAN_ROOT, String(major), 'bin');
    return existsSync(dir) ? dir : undefined;
  }
  const majors = existsSync(DEBIAN_ROOT)
    ? readdirSync(DEBIAN_ROOT)
        .map(Number)
        .filter((n) => n > 0)
        .sort((a, b) => b - a)
    : [];
  return majors.length ? path.join(DEBIAN_ROOT, String(majors[0]), 'bin') : undefined;
}

/** A program's path (the bare name, found on the PATH, when no directory is known). */
export function pgProgram(program: PgProgram, major?: number): string {
  const dir = binDir(major);
  return dir ? path.join(dir, program) : program;
}

/** The major version the binaries are (`initdb --version`), for preflight. */
export function binariesMajor(major?: number): number | undefined {
  try {
    const out = execFileSync(pgProgram('postgres', major), ['--version'], { encoding: 'utf8' });
    const match = /\(PostgreSQL\) (\d+)/.exec(out);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

export interface RunAs {
  uid: number;
  gid: number;
}

/**
 * initdb and postgres refuse to run as root: as root, servers run as LAZARUS_PG_OS_USER
 * (default `postgres`); as anyone else, as themselves (undefined: no uid switch).
 */
export function serverUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const name = process.env.LAZARUS_PG_OS_USER ?? 'postgres';
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error(
      `PostgreSQL servers cannot run as root and there is no OS user "${name}" to run them as: create it (adduser --system ${name}) or set LAZARUS_PG_OS_USER`,
    );
  }
}

/** Makes `dir` (created if missing) the server user's, as a data directory must be (0700). */
export async function ownDirectory(dir: string, runAs: RunAs | undefined, mode = 0o700): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode });
  await fs.chmod(dir, mode);
  if (runAs) await fs.chown(dir, runAs.uid, runAs.gid);
}
