/**
 * The base: pg_basebackup's tar of the whole cluster, on its standard output, streamed as
 * it comes (no copy on the worker's disk). -X none: the WAL from the backup's start to its
 * end is not put in the tar, because the capture already streams it (its slot keeps it
 * on the source) and a replay is handed the log from the base's start: a second copy
 * would be stored for nothing, and -X stream cannot write to standard output anyway.
 */
import { spawn } from 'node:child_process';
import type { BaseCopy } from '../../capture';
import { BackupManifestWatcher } from './base-tar';
import { identifySystem, serverMajor, toolArgs, toolEnv, type PostgresStore } from './connection';
import { pgProgram } from './tools';
import { lineageOf, lsnToOffset, pointAt } from './wal';

export async function takeBase(store: PostgresStore, signal: AbortSignal): Promise<BaseCopy> {
  const { systemId } = await identifySystem(store);
  const major = await serverMajor(store);
  const startedAt = new Date().toISOString();
  const child = spawn(
    pgProgram('pg_basebackup', major),
    [...toolArgs(store), '--pgdata=-', '--format=tar', '--wal-method=none', '--checkpoint=fast', '--verbose'],
    { env: toolEnv(store), stdio: ['ignore', 'pipe', 'pipe'], signal },
  );
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => (log = (log + chunk.toString('utf8')).slice(-16_384)));
  const data = new BackupManifestWatcher();
  data.on('error', () => {}); // kept for the consumer, never the process's
  child.stdout.pipe(data, { end: false });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const done = exited.then(async (code) => {
    if (code !== 0) throw new Error(`pg_basebackup exited with code ${code}: ${log.trim()}`);
    // The manifest is the tar's last entry: read once everything has passed through.
    const finished = new Promise((resolve) => data.once('finish', resolve));
    data.end();
    await finished;
    const range = data.walRange();
    if (!range) throw new Error(`pg_basebackup's tar held no backup_manifest with WAL-Ranges: ${log.trim()}`);
    // The end time is taken after the backup stopped: never earlier than the true end,
    // so a base chosen for a time target by it is always consistent by then.
    return {
      start: pointAt(lsnToOffset(range.start), startedAt),
      end: pointAt(lsnToOffset(range.end), new Date().toISOString()),
      lineage: lineageOf(systemId, range.timeline),
    };
  });
  done.catch((err: Error) => data.destroy(err));
  return { data, done };
}
