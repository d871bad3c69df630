/**
 * Continuous capture end to end, through Temporal and the `lazarus` command, on a
 * throwaway PostgreSQL source (the shared server has no replication line in pg_hba.conf):
 * `pitr start` after the preflight, a writer committing a row every 10 ms, `drill --at`
 * and `restore --at` a random sub-second time giving exactly the rows committed by then,
 * the capture worker killed and capture resuming with no gap, and a deleted log object
 * reported by verify and refused by a restore past it, as are targets outside the window.
 */
import type { ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { type PostgresSource, startPostgresSource } from '../tools/postgres-source';
import { lazarus } from './support/cli';
import * as stores from './support/stores';
import { serverAddress, testClient, uniqueQueue, waitFor } from './support/temporal';
import { killHard, spawnWorker } from './support/worker-process';

jest.setTimeout(240_000);

let source: PostgresSource;
let dir: string;
let file: string;
let worker: ChildProcess;
const queue = uniqueQueue('pitr');
const env = { TEMPORAL_ADDRESS: serverAddress(), LAZARUS_TASK_QUEUE: queue };

/** Commits one row every 10 ms on its own connection; remembers each acknowledged id. */
class Writer {
  acked: number[] = [];
  private running = false;
  private done?: Promise<void>;
  private client?: Client;

  async start() {
    this.client = new Client({ ...source.store, password: undefined });
    await this.client.connect();
    this.running = true;
    this.done = this.loop();
  }

  private async loop() {
    while (this.running) {
      const { rows } = await this.client!.query<{ id: number }>(
        'INSERT INTO ticks DEFAULT VALUES RETURNING id',
      );
      this.acked.push(rows[0].id);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async stop() {
    this.running = false;
    await this.done;
    await this.client?.end();
  }
}

async function sql<T>(text: string, params: unknown[] = [], database = source.store.database): Promise<T[]> {
  const client = new Client({ ...source.store, database, password: undefined });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

interface StatusRow {
  window: Array<{ from: string; to: string }>;
  gaps: unknown[];
  rpo?: { seconds: number; bytes: number };
}

function status() {
  const run = lazarus(['pitr', 'status', file, '--json'], env);
  return {
    code: run.code,
    rows: JSON.parse(run.stdout || '[]') as StatusRow[],
    stderr: run.stderr,
  };
}

/** Waits until the durable point is the source's head; on a timeout, says where capture stood. */
async function caughtUp(timeoutMs: number) {
  try {
    await waitFor(async () => status().rows[0]?.rpo?.bytes === 0, timeoutMs);
  } catch {
    const client = await testClient();
    const described = await client.workflow.getHandle('capture/pitrtest/orders').describe();
    const pending = described.raw.pendingActivities?.map((a) => ({
      type: a.activityType?.name,
      attempt: a.attempt,
      failure: a.lastFailure?.message,
    }));
    throw new Error(
      `capture did not catch up: ${JSON.stringify(status().rows[0])}; workflow ${described.status.name}, pending ${JSON.stringify(pending)}`,
    );
  }
}

beforeAll(async () => {
  dir = stores.tempDir();
  source = await startPostgresSource({
    dir: path.join(os.tmpdir(), `lazarus-pitr-src-${process.pid}`),
    database: 'shop',
  });
  await sql('CREATE TABLE ticks (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())');
  // Another database of the cluster: restore_as: cluster brings it back to the same instant.
  await sql('CREATE DATABASE audit');
  await sql('CREATE TABLE entries (what text)', [], 'audit');
  file = await stores.writeManifest(dir, {
    app: 'pitrtest',
    repository: { path: 'repo' },
    services: {
      orders: {
        tier: 'critical',
        datastore: { kind: 'postgres', host: '127.0.0.1', port: source.port, database: 'shop' },
        pitr: { base_every: '1h', session: '20s', restore_as: 'cluster' },
        validate: [{ row_count: { table: 'ticks', min: 1 } }],
      },
    },
  });
  worker = await spawnWorker(queue);
});

afterAll(async () => {
  lazarus(['pitr', 'stop', file], env);
  if (worker) await killHard(worker);
  await source?.stop();
});

const writer = new Writer();

test('capture starts after the preflight; drill and restore --at a sub-second time give exactly the rows committed by then, in every database of the cluster', async () => {
  const started = lazarus(['pitr', 'start', file], env);
  expect(started.stderr).toBe('');
  expect(started.stdout).toMatch(/orders: started/);
  await writer.start();
  await sql("INSERT INTO entries VALUES ('before the target')", [], 'audit');
  await waitFor(async () => status().rows[0]?.window?.length > 0, 60_000);
  // The RPO measured under the writer: the source's head against the durable point.
  const samples: number[] = [];
  const behind: number[] = [];
  for (let i = 0; i < 5; i++) {
    const { rpo } = status().rows[0];
    samples.push(rpo!.seconds);
    behind.push(rpo!.bytes);
  }
  const [{ t }] = await sql<{ t: Date }>("SELECT now() - interval '1.4 seconds' AS t");
  const target = new Date(t.getTime() + Math.floor(Math.random() * 1000)).toISOString();
  await new Promise((r) => setTimeout(r, 2000));
  await sql("INSERT INTO entries VALUES ('after the target')", [], 'audit');
  const expected = await sql<{ id: number }>(
    'SELECT id FROM ticks WHERE pg_xact_commit_timestamp(xmin) <= $1 ORDER BY id',
    [target],
  );
  console.log(
    `capture RPO under a 100 rows/s writer, 5 samples: ${samples.map((s) => s.toFixed(3)).join(', ')} s; ${behind.join(', ')} bytes`,
  );
  expect(Math.max(...samples)).toBeLessThanOrEqual(1.5);

  const drill = lazarus(['drill', file, '--at', target, '--json'], env);
  expect(drill.code).toBe(0);
  const drilled = JSON.parse(drill.stdout);
  expect(drilled.outcome).toBe('succeeded');
  expect(drilled.restored.orders.validations[0].ok).toBe(true);

  await writer.stop();
  const refused = lazarus(['restore', file, '--at', target], env);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/pass --yes/);
  const restored = lazarus(['restore', file, '--at', target, '--yes', '--json'], env);
  expect(restored.code).toBe(0);
  const rows = await sql<{ id: number }>('SELECT id FROM ticks ORDER BY id');
  const missing = expected.filter((e) => !rows.some((r) => r.id === e.id)).length;
  const extra = rows.length - (expected.length - missing);
  console.log(
    `restore --at ${target}: expected ${expected.length} rows, restored ${rows.length}, ${missing} missing, ${extra} extra`,
  );
  expect(rows.map((r) => r.id)).toEqual(expected.map((e) => e.id));
  const audit = await sql<{ what: string }>('SELECT what FROM entries', [], 'audit');
  expect(audit.map((a) => a.what)).toEqual(['before the target']);
});

test('the capture worker killed: a new worker resumes capture with no gap, and latest holds every acknowledged row', async () => {
  const before = writer.acked.length;
  await writer.start();
  await new Promise((r) => setTimeout(r, 2000));
  await killHard(worker);
  await new Promise((r) => setTimeout(r, 3000));
  worker = await spawnWorker(queue);
  await new Promise((r) => setTimeout(r, 3000));
  await writer.stop();
  const acked = writer.acked.slice(before);
  await caughtUp(60_000);
  const now = status();
  expect(now.rows[0].gaps).toEqual([]);
  const drill = JSON.parse(lazarus(['drill', file, '--at', 'latest', '--json'], env).stdout);
  expect(drill.outcome).toBe('succeeded');
  const count = Number(drill.restored.orders.validations[0].detail);
  const rows = await sql<{ n: string }>('SELECT count(*) AS n FROM ticks');
  console.log(
    `after a killed capture worker: ${acked.length} rows acknowledged meanwhile; latest holds ${count} of ${rows[0].n}`,
  );
  expect(count).toBe(Number(rows[0].n));
});

test('a deleted log object: verify reports the gap; restores past it, before the window and in the future are refused', async () => {
  for (let i = 0; i < 3; i++) {
    await sql('INSERT INTO ticks DEFAULT VALUES');
    await sql('SELECT pg_switch_wal()');
    await new Promise((r) => setTimeout(r, 1500));
  }
  await caughtUp(30_000);
  lazarus(['pitr', 'stop', file], env);
  const logsDir = path.join(dir, 'repo', 'streams', 'pitrtest', 'orders', 'logs');
  const [lineage] = await fs.readdir(logsDir);
  // A sealed segment in the middle, with the record of its .partial (which may cover it whole).
  const sealed = (await fs.readdir(path.join(logsDir, lineage)))
    .filter((f) => /^[0-9A-F]{24}\.json$/.test(f))
    .sort();
  expect(sealed.length).toBeGreaterThanOrEqual(3);
  const segment = sealed[sealed.length - 2].replace('.json', '');
  for (const record of [`${segment}.json`, `${segment}.partial.json`])
    await fs.rm(path.join(logsDir, lineage, record), { force: true });

  const verify = lazarus(['verify', file], env);
  expect(verify.code).toBe(3);
  expect(verify.stdout).toMatch(/stream pitrtest\/orders: the log has a gap/);
  expect(status().code).toBe(3);

  const past = lazarus(['restore', file, '--at', 'latest', '--yes'], env);
  expect(past.code).toBe(2);
  expect(past.stderr).toMatch(/gap/);
  const future = lazarus(['drill', file, '--at', '2099-01-01T00:00:00Z'], env);
  expect(future.code).toBe(2);
  expect(future.stderr).toMatch(/after the newest durable point.*restorable: /);
  const early = lazarus(['drill', file, '--at', '2001-01-01T00:00:00Z'], env);
  expect(early.code).toBe(2);
  expect(early.stderr).toMatch(/before the oldest restorable point; restorable: \d{4}-/);

  // prune frees the missing file's data and keeps every stream's other bases and log.
  expect(lazarus(['prune', file], env).code).toBe(0);
  expect(lazarus(['verify', file, '--read-data'], env).stdout).not.toMatch(/DAMAGED (pack|snapshot)/);
  const before = new Date(Date.parse(status().rows[0].window[0].from) + 500).toISOString();
  const drill = JSON.parse(lazarus(['drill', file, '--at', before, '--json'], env).stdout);
  expect(drill.outcome).toBe('succeeded');
});

test("pitr start refuses a source that is not ready, naming each missing setting and its fix (this machine's shared PostgreSQL)", async () => {
  const shared = await stores.writeManifest(stores.tempDir(), {
    app: 'pitrshared',
    services: { books: { datastore: { kind: 'postgres', database: 'postgres' }, pitr: {} } },
  });
  const refused = lazarus(['pitr', 'start', shared], env);
  console.log(`preflight on the shared server 127.0.0.1:5432:\n${refused.stderr}`);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/capture cannot start; nothing was changed on any server/);
  expect(refused.stderr).toMatch(/pg_hba\.conf.*\n\s+fix: .*host replication/);
});
