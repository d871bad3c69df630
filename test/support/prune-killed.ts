/**
 * A prune in a process of its own that kills itself before its write or delete number
 * `count + 1` (see failpoint-backend.ts): how the crash tests stop a prune anywhere.
 * Run by `pruneKilledAfter`; the password comes from $LAZARUS_PASSWORD, as for the CLI.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { prune } from '../../repository/maintenance/prune';
import { Repository } from '../../repository/repository';
import { killAfterWrites } from './failpoint-backend';

/** Runs the prune of the local repository at `root` in a child that dies after `count` writes. */
export function pruneKilledAfter(root: string, count: number, env: Record<string, string>) {
  const result = spawnSync(
    process.execPath,
    ['-r', path.join(__dirname, 'register-ts.js'), __filename, root, String(count)],
    { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 },
  );
  return { code: result.status, signal: result.signal, stderr: result.stderr };
}

async function pruneUntilKilled(root: string, count: number): Promise<void> {
  const repo = await Repository.open({ location: root }, { wrappers: [killAfterWrites(count)] });
  await prune(repo);
  await repo.close();
}

if (require.main === module) {
  const [root, count] = process.argv.slice(2);
  pruneUntilKilled(root, Number(count)).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
