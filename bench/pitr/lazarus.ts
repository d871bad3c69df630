/**
 * Lazarus's side of the PITR bench, driven as a user drives it: a manifest with pitr on
 * the service (repository a local directory), a `lazarus worker` process, `lazarus pitr
 * start`, `lazarus drill --at`. Its base and durable point are read from the stream's
 * records in the repository, as `lazarus pitr status` reads them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { loadManifest } from '../../config/load-manifest';
import type { Client } from '@temporalio/client';
import { captureWorkflowId } from '../../contracts/ids';
import type { CaptureStatus } from '../../workflows/capture';
import type { PointRestoreResult } from '../../workflows/point-restore';
import { timelineOf } from '../../model/timeline';
import { MissingRepositoryError } from '../../repository/engine/format';
import { Repository } from '../../repository/repository';
import type { PostgresSource } from '../../tools/postgres-source';
import { run } from './process';

const CLI = path.resolve(__dirname, '..', '..', 'client', 'cli.js');
const APP = 'pitrbench';
const SERVICE = 'db';

export class LazarusSide {
  private repo?: Repository;
  private captureStopped = false;

  private constructor(
    private readonly manifestFile: string,
    private readonly env: Record<string, string>,
    private readonly worker: { child: ChildProcess; printed: () => string },
  ) {}

  get repoDir(): string {
    return path.join(path.dirname(this.manifestFile), 'repo');
  }

  /**
   * The manifest (validator: pgbench_history's rows, which a drill reports) and a worker
   * whose temporary files (capture spool, replay scratch) live under `dir`.
   */
  static async start(
    dir: string,
    source: PostgresSource,
    temporal: { address: string; taskQueue: string },
  ): Promise<LazarusSide> {
    await fs.mkdir(path.join(dir, 'tmp'), { recursive: true, mode: 0o755 });
    await fs.chmod(dir, 0o755);
    const manifestFile = path.join(dir, 'lazarus.yaml');
    const manifest = {
      app: APP,
      repository: { path: 'repo' },
      services: {
        [SERVICE]: {
          tier: 'critical',
          datastore: {
            kind: 'postgres',
            host: '127.0.0.1',
            port: source.port,
            database: source.store.database,
          },
          pitr: { base_every: '1d', session: '1h' },
          validate: [{ row_count: { table: 'pgbench_history', min: 0 } }],
        },
      },
    };
    await fs.writeFile(manifestFile, YAML.stringify(manifest));
    const env = {
      TEMPORAL_ADDRESS: temporal.address,
      LAZARUS_TASK_QUEUE: temporal.taskQueue,
      TMPDIR: path.join(dir, 'tmp'),
      LAZARUS_LOG_LEVEL: process.env.LAZARUS_LOG_LEVEL ?? 'WARN',
    };
    const worker = await startWorker(env);
    return new LazarusSide(manifestFile, env, worker);
  }

  private async lazarus(args: string[]) {
    const out = await run(process.execPath, [CLI, ...args], { env: this.env, timeoutMs: 600_000 });
    if (out.code !== 0)
      throw new Error(
        `lazarus ${args.join(' ')} exited with code ${out.code}: ${out.stderr.trim() || out.stdout}`,
      );
    return out;
  }

  /** `pitr start`, then the base's time from its record (taken to consistent) once the window opens. */
  async startCapture(timeoutMs = 150_000): Promise<{ seconds: number }> {
    await this.lazarus(['pitr', 'start', this.manifestFile]);
    const until = Date.now() + timeoutMs;
    for (;;) {
      const { bases, logs } = await this.records();
      if (bases.length > 0 && timelineOf(bases, logs).intervals.length > 0) {
        const base = bases[0];
        return { seconds: (Date.parse(base.consistentAt) - Date.parse(base.takenAt)) / 1000 };
      }
      if (Date.now() > until) {
        const status = await run(process.execPath, [CLI, 'pitr', 'status', this.manifestFile], {
          env: this.env,
        });
        throw new Error(
          `lazarus pitr: no restorable window within ${timeoutMs / 1000} s (${bases.length} bases, ${logs.length} log files)\n` +
            `pitr status: ${status.stdout}${status.stderr}\nworker: ${this.workerLog().slice(-3000)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** The stream's records; none before the worker has created the repository. */
  private async records() {
    if (!this.repo) {
      const spec = loadManifest(this.manifestFile).repository;
      const repo = await Repository.open(spec).catch((err: unknown) => {
        if (err instanceof MissingRepositoryError) return undefined;
        throw err;
      });
      if (!repo) return { bases: [], logs: [] };
      this.repo = repo;
    }
    const [bases, logs] = await Promise.all([
      this.repo.streams.bases(APP, SERVICE),
      this.repo.streams.logs(APP, SERVICE),
    ]);
    return { bases, logs };
  }

  /** The newest durable offset the stream's records hold (undefined: none yet). */
  readonly durableOffset = async (): Promise<number | undefined> => {
    const { bases, logs } = await this.records();
    return timelineOf(bases, logs).durable?.offset;
  };

  /**
   * `lazarus drill --at`: its wall time (planning, download, replay on a scratch server,
   * the validator, teardown), and the restore activity's own (to the validator's count).
   */
  async drill(target: string) {
    const out = await this.lazarus(['drill', this.manifestFile, '--at', target, '--json']);
    const result = JSON.parse(out.stdout) as PointRestoreResult;
    const restored = result.restored[SERVICE];
    if (result.outcome !== 'succeeded') throw new Error(`lazarus drill --at ${target}: ${out.stdout}`);
    return {
      wallSeconds: out.ms / 1000,
      activitySeconds: restored.durationMs / 1000,
      rows: Number(restored.validations?.[0]?.detail),
      reached: restored.reached.time,
      logBytes: restored.logBytes,
      files: restored.files,
    };
  }

  /**
   * `pitr stop`, then the capture workflow's end: its status sums what re-storing the
   * growing log files cost over its sessions (undefined when it does not say).
   */
  async stopCapture(client?: Client): Promise<CaptureStatus['uploads']> {
    if (this.captureStopped) return undefined;
    this.captureStopped = true;
    await this.lazarus(['pitr', 'stop', this.manifestFile]);
    const handle = client?.workflow.getHandle(captureWorkflowId(APP, SERVICE));
    const ended = handle?.result().catch(() => undefined) as Promise<CaptureStatus | undefined> | undefined;
    const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 30_000).unref());
    const status = ended && (await Promise.race([ended, timeout]));
    return status?.uploads;
  }

  /** `lazarus prune`: frees the superseded versions of the log files that grew while captured. */
  async prune(): Promise<void> {
    await this.lazarus(['prune', this.manifestFile]);
  }

  /** Capture stopped if it still runs, the repository closed, the worker ended. */
  async shutdown(): Promise<void> {
    await this.stopCapture().catch((err: Error) => console.error(err.message));
    // The session's last upload and end take about one upload period.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await this.repo?.close();
    await endProcess(this.worker.child);
  }

  /** The end of what the worker printed, for a failure's report. */
  workerLog(): string {
    return this.worker.printed();
  }
}

/** `lazarus worker`, its own process as in production; resolves once it is connected. */
function startWorker(env: Record<string, string>): Promise<{ child: ChildProcess; printed: () => string }> {
  const child = spawn(process.execPath, [CLI, 'worker'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // Its last words are kept: what the bench prints when a step fails.
  let output = '';
  const printed = () => output;
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-16_384);
      if (output.includes('Worker connected')) resolve({ child, printed });
    });
    child.once('exit', (code) => reject(new Error(`lazarus worker exited early (${code}): ${output}`)));
  });
}

/** SIGTERM (a worker's graceful shutdown), then SIGKILL if it is still there after `graceMs`. */
async function endProcess(child: ChildProcess, graceMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
