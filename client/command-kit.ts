/** What every command shares: exit codes, --json, error handling, opening a manifest's repository. */
import { existsSync } from 'node:fs';
import { Option } from 'commander';
import { isBackupId } from '../contracts/ids';
import { UserError } from '../model/errors';
import { loadManifest } from '../config/load-manifest';
import type { Manifest } from '../model/manifest';
import { isLocalLocation } from '../model/paths';
import { keepsState } from '../model/restore-selection';
import type { RunOptions } from '../workflows/types';
import { RepositoryLockedError } from '../repository/records/locks';
import { MissingRepositoryError } from '../repository/engine/format';
import type { RepositorySpec } from '../contracts/repository-spec';
import { Repository } from '../repository/repository';
import { RunFailedError } from './run-workflow';
import { RunUnfollowedError } from '../temporal/runs';

/**
 * 0 done; 1 a run failed; 2 bad input (nothing was started); 3 damaged data found; 4 the
 * repository is busy; 5 the server stopped answering, so how the run ended is not known here.
 */
export const EXIT = { ok: 0, runFailed: 1, usage: 2, corrupt: 3, busy: 4, unknown: 5 } as const;

export const json = () => new Option('--json', 'print machine-readable JSON on stdout');

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

export async function manifestAndRepository(file: string) {
  const manifest = loadManifest(file);
  return { manifest, repo: await openRepositoryOf(file, manifest.repository) };
}

/** The repository a manifest names; a missing one is refused naming the manifest, unless `create` (a command that records, as a backup does). */
export async function openRepositoryOf(
  file: string,
  spec: RepositorySpec,
  options: { create?: boolean } = {},
): Promise<Repository> {
  return Repository.open(spec, options).catch((err: unknown) => {
    throw err instanceof MissingRepositoryError ? err.of(file) : err;
  });
}

/**
 * The worker resolves the backup too; checking here first turns a typo (in the ID, or in
 * repository.path) into exit 2, not a failed run.
 */
export async function checkBackup(
  file: string,
  manifest: Manifest,
  backupId: string | undefined,
  selected: string[],
) {
  // A local path this machine lacks may be mounted on the workers only: they check it then.
  if (isLocalLocation(manifest.repository.location) && !existsSync(manifest.repository.location)) return;
  // This shell may not hold the repository's password, or reach it: the worker checks then.
  const repo = await openRepositoryOf(file, manifest.repository).catch((err: unknown) => {
    if (err instanceof MissingRepositoryError) throw err;
    return undefined;
  });
  const stateful = selected.filter((s) => keepsState(manifest.services[s]));
  await repo?.findBackup(manifest.app, backupId, stateful);
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UserError(`"${value}" is not a positive whole number`);
  return n;
}

export const concurrency = () =>
  new Option('--concurrency <n>', 'services run at once').argParser(positiveInt);

export function runOptions(opts: { concurrency?: number }): RunOptions {
  return opts.concurrency ? { concurrency: opts.concurrency } : {};
}

/** A backup ID the user typed, checked before it reaches a repository key or a run. */
export function backupIdArgument(flag: string) {
  return (value: string): string => {
    if (isBackupId(value)) return value;
    throw new UserError(
      `${flag} ${JSON.stringify(value)} is not a backup ID: IDs read like 20261121T100000.000Z; ` +
        '`lazarus backups <manifest>` lists them',
    );
  };
}

/**
 * A comma-separated list of services (--services orders,inventory): undefined when the
 * flag is left out, which means every service. A list that names none (--services '',
 * or an empty item) is a mistake, never "every service": that would restore all of
 * them over production.
 */
export function serviceList(flag: string, value: string | undefined, known: readonly string[]) {
  if (value === undefined) return undefined;
  const names = value.split(',').map((s) => s.trim());
  if (names.some((s) => s === ''))
    throw new UserError(
      `${flag} ${JSON.stringify(value)}: ${names.every((s) => s === '') ? 'names no service' : 'has an empty name'}; ` +
        `name one or more of ${listed(known)}, comma-separated, or leave ${flag} out for all of them`,
    );
  const unknown = names.filter((s) => !known.includes(s));
  if (unknown.length > 0)
    throw new UserError(`${flag}: unknown service ${unknown.join(', ')}; known: ${listed(known)}`);
  return [...new Set(names)];
}

/** Names for a message: all of a small application's, the first 20 of a large one's. */
export function listed(names: readonly string[], most = 20): string {
  const shown = names.slice(0, most).join(', ');
  return names.length > most ? `${shown} and ${names.length - most} more` : shown;
}

/** Runs a command: a user's mistake is one line and exit 2, never a stack trace. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function action<A extends any[]>(run: (...args: A) => unknown) {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (err) {
      if (err instanceof RepositoryLockedError) {
        console.error(`lazarus: ${err.message}`);
        process.exit(EXIT.busy);
      }
      if (err instanceof UserError) {
        console.error(`lazarus: ${err.message}`);
        process.exit(EXIT.usage);
      }
      if (err instanceof RunUnfollowedError) {
        console.error(`lazarus: ${err.message}`);
        process.exit(EXIT.unknown);
      }
      if (err instanceof RunFailedError) {
        console.error(`lazarus: run failed: ${err.message}`);
        process.exit(EXIT.runFailed);
      }
      console.error(`lazarus: ${(err as Error).message}`);
      if (process.env.LAZARUS_DEBUG) console.error((err as Error).stack);
      process.exit(EXIT.runFailed);
    }
  };
}
