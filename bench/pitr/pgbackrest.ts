/**
 * pgBackRest beside Lazarus on the bench's source: installed from Debian when missing,
 * a stanza whose repository is a local directory, WAL pushed by archive_command, a full
 * backup, the durable point read from pg_stat_archiver, and a restore to a time started
 * on a server of its own until it is promoted and answers.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Client } from 'pg';
import { PostgresServer, query, waitForQueries } from '../../datastores/postgres/capture/scratch';
import { ownDirectory, type RunAs } from '../../datastores/postgres/capture/tools';
import { parseWalFileName, segmentStart } from '../../datastores/postgres/capture/wal';
import { freePort } from '../../tools/local-server';
import type { PostgresSource } from '../../tools/postgres-source';
import { check, run } from './process';

const STANZA = 'bench';

/**
 * What the comparison runs pgBackRest with, printed with the figures. archive_timeout 60 s:
 * PostgreSQL's documentation calls "a minute or so" reasonable, and pgBackRest's guide
 * sets none. archive-push synchronous (the default): a segment counts as archived only
 * once it is in the repository, so pg_stat_archiver is the durable point. zst, as Lazarus
 * compresses with zstd; one process, as pg_basebackup is one stream.
 */
export const PGBACKREST_SETTINGS = {
  archiveAsync: false,
  archiveTimeoutSeconds: 60,
  compressType: 'zst',
  processMax: 1,
  startFast: true,
};

/** pgBackRest's version, installed with apt-get first when it is missing. */
export async function ensurePgBackRest(log: (line: string) => void): Promise<string> {
  const installed = await run('pgbackrest', ['version']).catch(() => undefined);
  if (installed?.code === 0) return installed.stdout.trim();
  log('pgbackrest is not installed: apt-get install -y pgbackrest');
  const apt = await run('apt-get', ['install', '-y', 'pgbackrest'], {
    env: { DEBIAN_FRONTEND: 'noninteractive' },
    timeoutMs: 300_000,
  }).catch((err: Error) => ({ code: -1, stderr: err.message, stdout: '' }));
  const after = await run('pgbackrest', ['version']).catch(() => undefined);
  if (apt.code !== 0 || after?.code !== 0) {
    throw new Error(
      `bench:pitr compares with pgBackRest, which is not installed, and \`apt-get install -y pgbackrest\` failed ` +
        `(code ${apt.code}): ${apt.stderr.trim().split('\n').slice(-3).join(' ')}\n` +
        'fix: install it (Debian: apt-get update && apt-get install -y pgbackrest, as root) and run the bench again',
    );
  }
  return after.stdout.trim();
}

export class PgBackRest {
  private durable = 0;

  private constructor(
    readonly dir: string,
    private readonly source: PostgresSource,
    private readonly runAs: RunAs | undefined,
  ) {}

  get repoDir(): string {
    return path.join(this.dir, 'repo');
  }

  private get configFile(): string {
    return path.join(this.dir, 'pgbackrest.conf');
  }

  /**
   * A stanza on the source, archiving on (ALTER SYSTEM and a restart, as archive_mode
   * needs), checked by pgBackRest's own `check` (a WAL switch pushed to the repository).
   */
  static async setUp(dir: string, source: PostgresSource, runAs: RunAs | undefined): Promise<PgBackRest> {
    const tool = new PgBackRest(dir, source, runAs);
    await ownDirectory(dir, runAs, 0o755);
    for (const sub of ['repo', 'log', 'lock', 'spool']) await ownDirectory(path.join(dir, sub), runAs);
    await fs.writeFile(tool.configFile, tool.config(), { mode: 0o644 });
    const settings = {
      archive_mode: 'on',
      archive_command: `pgbackrest --config=${tool.configFile} --stanza=${STANZA} archive-push %p`,
      archive_timeout: String(PGBACKREST_SETTINGS.archiveTimeoutSeconds),
    };
    for (const [name, value] of Object.entries(settings))
      await query(source.store, `ALTER SYSTEM SET ${name} = '${value.replace(/'/g, "''")}'`);
    await source.server.stop();
    await source.restart();
    await tool.pgbackrest(['stanza-create']);
    await tool.pgbackrest(['check']);
    return tool;
  }

  private config(): string {
    const s = PGBACKREST_SETTINGS;
    return [
      '[global]',
      `repo1-path=${this.repoDir}`,
      `log-path=${path.join(this.dir, 'log')}`,
      `lock-path=${path.join(this.dir, 'lock')}`,
      `spool-path=${path.join(this.dir, 'spool')}`,
      `archive-async=${s.archiveAsync ? 'y' : 'n'}`,
      `compress-type=${s.compressType}`,
      `process-max=${s.processMax}`,
      `start-fast=${s.startFast ? 'y' : 'n'}`,
      'log-level-console=warn',
      'log-level-file=info',
      `[${STANZA}]`,
      `pg1-path=${this.source.dataDir}`,
      `pg1-port=${this.source.port}`,
      '',
    ].join('\n');
  }

  /**
   * A pgBackRest command as the cluster's owner. The source listens on TCP only (no socket
   * in a shared directory) and pg1-socket-path takes only a directory: libpq's PGHOST
   * makes pgBackRest's connection a TCP one.
   */
  private pgbackrest(args: string[]) {
    return check('pgbackrest', [`--config=${this.configFile}`, `--stanza=${STANZA}`, ...args], {
      runAs: this.runAs,
      env: { PGHOST: '127.0.0.1' },
      timeoutMs: 600_000,
    });
  }

  /** A full backup; its wall time, archiving of its last segment included (as pgBackRest waits for it). */
  async fullBackup(): Promise<{ seconds: number }> {
    const out = await this.pgbackrest(['--type=full', 'backup']);
    return { seconds: out.ms / 1000 };
  }

  /**
   * The end of the newest segment pg_stat_archiver reports pushed (a `.backup` file counts
   * for the segment it names; the archiver sends it after that segment). Never goes back.
   */
  async durableOffset(client: Client): Promise<number> {
    const { rows } = await client.query<{ wal: string | null }>(
      'SELECT last_archived_wal AS wal FROM pg_stat_archiver',
    );
    const parsed = rows[0].wal ? parseWalFileName(rows[0].wal.slice(0, 24)) : undefined;
    if (parsed?.type === 'segment') this.durable = Math.max(this.durable, segmentStart(parsed.segment + 1));
    return this.durable;
  }

  /**
   * `restore --type=time` into a new directory, started on a free port until it has
   * promoted and answers; then the restored rows counted, the server stopped and the
   * directory removed. The times to answering, to counted (what a drill's validator does)
   * and to the end of all that.
   */
  async restoreTo(target: string, countSql: string, database: string) {
    const started = Date.now();
    const dataDir = path.join(this.dir, 'restored');
    await ownDirectory(dataDir, this.runAs);
    await this.pgbackrest([
      `--pg1-path=${dataDir}`,
      '--type=time',
      `--target=${serverTime(target)}`,
      '--target-action=promote',
      // Never into the repository the source archives to (pgbackrest#1616).
      '--archive-mode=off',
      'restore',
    ]);
    const server = new PostgresServer({
      dataDir,
      port: await freePort(),
      logFile: path.join(this.dir, 'log', 'restored-server.log'),
      settings: { log_destination: 'stderr', logging_collector: 'off' },
      runAs: this.runAs,
    });
    try {
      await server.start();
      const store = { ...this.source.store, port: server.port, database };
      await waitUntilPromoted(store, server);
      const answeredMs = Date.now() - started;
      const [{ n }] = await query<{ n: string }>(store, countSql);
      const countedMs = Date.now() - started;
      await server.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
      return {
        toAnswerSeconds: answeredMs / 1000,
        countedSeconds: countedMs / 1000,
        totalSeconds: (Date.now() - started) / 1000,
        rows: Number(n),
      };
    } finally {
      await server.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  }
}

/** Polls until the recovered server is out of recovery; fails with its log if it stops meanwhile. */
async function waitUntilPromoted(
  store: PostgresSource['store'],
  server: PostgresServer,
  timeoutMs = 600_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  await waitForQueries(store, server, timeoutMs);
  for (;;) {
    const [{ r }] = await query<{ r: boolean }>(store, 'SELECT pg_is_in_recovery() AS r');
    if (!r) return;
    if (!server.running || Date.now() > until)
      throw new Error(`pgBackRest's restore was not promoted: ${(await server.logText()).slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `2026-12-01 21:01:05.368+00`, as recovery_target_time (and pgBackRest's --target) reads a time. */
function serverTime(iso: string): string {
  return new Date(iso).toISOString().replace('T', ' ').replace('Z', '+00');
}
