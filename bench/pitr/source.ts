/**
 * The PITR bench's source: a throwaway cluster (tools/postgres-source.ts) filled by
 * `pgbench -i`, and pgbench's TPC-B-like load at a fixed rate, which the two tools
 * capture at the same time.
 */
import path from 'node:path';
import { query } from '../../datastores/postgres/capture/scratch';
import { binDir } from '../../datastores/postgres/capture/tools';
import { type PostgresSource, startPostgresSource } from '../../tools/postgres-source';
import { check } from './process';

export const DATABASE = 'bench';

function pgbench(source: PostgresSource, args: string[], timeoutMs: number) {
  const program = binDir() ? path.join(binDir()!, 'pgbench') : 'pgbench';
  const connection = ['-h', '127.0.0.1', '-p', String(source.port), '-U', 'postgres'];
  return check(program, [...args, ...connection, DATABASE], { timeoutMs });
}

/** The source, with pgbench's tables at `scale` (about 15 MB each). */
export async function startBenchSource(dir: string, scale: number): Promise<PostgresSource> {
  const source = await startPostgresSource({ dir, database: DATABASE });
  try {
    await pgbench(source, ['-i', '-q', '-s', String(scale)], 600_000);
    return source;
  } catch (err) {
    await source.stop();
    throw err;
  }
}

/** Every database's size together: what a base of the cluster copies. */
export async function clusterBytes(source: PostgresSource): Promise<number> {
  const [{ bytes }] = await query<{ bytes: string }>(
    source.store,
    'SELECT sum(pg_database_size(oid))::bigint AS bytes FROM pg_database',
  );
  return Number(bytes);
}

export interface Load {
  seconds: number;
  rate: number;
  clients: number;
}

/** pgbench's default transaction at `rate` per second for `seconds`; how many it committed. */
export async function runLoad(source: PostgresSource, load: Load): Promise<{ transactions: number }> {
  const out = await pgbench(
    source,
    ['-n', '-T', String(load.seconds), '-R', String(load.rate), '-c', String(load.clients), '-j', '1'],
    (load.seconds + 120) * 1000,
  );
  const processed = /number of transactions actually processed: (\d+)/.exec(out.stdout);
  return { transactions: processed ? Number(processed[1]) : NaN };
}

/** The rows of pgbench_history committed at or before `time`: what a restore to it must hold. */
export async function historyRowsAt(source: PostgresSource, time: string): Promise<number> {
  const [{ n }] = await query<{ n: string }>(
    source.store,
    'SELECT count(*) AS n FROM pgbench_history WHERE pg_xact_commit_timestamp(xmin) <= $1',
    [time],
  );
  return Number(n);
}
