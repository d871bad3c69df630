/**
 * A consistency group under continuous capture: PostgreSQL, MariaDB and Redis sources written
 * by one writer that numbers its writes with one sequence, a checkpoint recorded every
 * second, and the group restored to one checkpoint: each member's last sequence is the
 * one it held at the checkpoint, and the two differ by no more than what the recorded
 * skew allows (the spread of the three).
 */
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import mysql from 'mysql2/promise';
import { Client } from 'pg';
import type { CheckpointRecord } from '../contracts/streams';
import { Repository } from '../repository/repository';
import { type MariadbSource, startMariadbSource } from '../tools/mariadb-source';
import { type PostgresSource, startPostgresSource } from '../tools/postgres-source';
import { type RedisSource, startRedisSource } from '../tools/redis-source';
import { lazarus } from './support/cli';
import * as stores from './support/stores';
import { serverAddress, uniqueQueue, waitFor } from './support/temporal';
import { killHard, spawnWorker } from './support/worker-process';

jest.setTimeout(240_000);

const TICK_MS = 10;
let pg: PostgresSource;
let redis: RedisSource;
let maria: MariadbSource;
let worker: ChildProcess;
let dir: string;
let file: string;
const queue = uniqueQueue('pitr-group');
const env = { TEMPORAL_ADDRESS: serverAddress(), LAZARUS_TASK_QUEUE: queue };

beforeAll(async () => {
  dir = stores.tempDir();
  pg = await startPostgresSource({
    dir: path.join(os.tmpdir(), `lazarus-pitr-group-${process.pid}`),
    database: 'ledger',
  });
  redis = await startRedisSource();
  maria = await startMariadbSource({
    dir: path.join(os.tmpdir(), `lazarus-pitr-group-maria-${process.pid}`),
    database: 'stock',
  });
  const stock = await mysql.createConnection({ ...maria.store, password: undefined });
  await stock.query('CREATE TABLE seq (n int PRIMARY KEY)');
  await stock.end();
  const client = new Client({ ...pg.store, password: undefined });
  await client.connect();
  await client.query('CREATE TABLE seq (n int PRIMARY KEY)');
  await client.end();
  file = await stores.writeManifest(dir, {
    app: 'pitrgroup',
    repository: { path: 'repo' },
    services: {
      ledger: {
        datastore: { kind: 'postgres', host: '127.0.0.1', port: pg.port, database: 'ledger' },
        pitr: {},
      },
      sessions: {
        datastore: { kind: 'redis', host: '127.0.0.1', port: redis.port, db: 0, staging_db: 15 },
        pitr: {},
      },
      stock: {
        datastore: { kind: 'mariadb', host: '127.0.0.1', port: maria.port, database: 'stock' },
        pitr: {},
      },
    },
    consistency_groups: { checkout: { members: ['ledger', 'sessions', 'stock'], checkpoint_every: '1s' } },
  });
  worker = await spawnWorker(queue);
  const spawned = worker as ChildProcess & { printed(): string };
  worker.once('exit', (code, signal) => {
    if (signal !== 'SIGKILL')
      console.log(`the worker exited (${code ?? signal}):\n${spawned.printed().slice(-4000)}`);
  });
});

afterAll(async () => {
  lazarus(['pitr', 'stop', file], env);
  if (worker) await killHard(worker);
  await pg?.stop();
  await redis?.remove();
  await maria?.stop();
});

async function checkpoints(): Promise<CheckpointRecord[]> {
  const repo = await Repository.open({ location: path.join(dir, 'repo') });
  try {
    return await repo.streams.checkpoints('pitrgroup', 'checkout');
  } finally {
    await repo.close();
  }
}

test('the group restored to a checkpoint: each member at its recorded point, within the recorded skew', async () => {
  const started = lazarus(['pitr', 'start', file], env);
  expect(started.stdout + started.stderr).toMatch(/group checkout: started/);
  const sql = new Client({ ...pg.store, password: undefined });
  await sql.connect();
  const kv = new Redis(redis.port, '127.0.0.1');
  const db = await mysql.createConnection({ ...maria.store, password: undefined });
  let n = 0;
  let writing = true;
  const writer = (async () => {
    while (writing) {
      n++;
      await sql.query('INSERT INTO seq VALUES ($1)', [n]);
      await kv.rpush('seq', String(n));
      await db.query('INSERT INTO seq VALUES (?)', [n]);
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
  })();
  const status = () => JSON.parse(lazarus(['pitr', 'status', file, '--json'], env).stdout || '[]');
  await waitFor(async () => status().every((s: { window: unknown[] }) => s.window.length > 0), 90_000);
  await waitFor(async () => (await checkpoints()).length >= 4, 30_000);
  await new Promise((r) => setTimeout(r, 2000));
  writing = false;
  await writer;
  await sql.end();
  await db.end();
  const all = await checkpoints();
  const chosen = all[all.length - 3];
  const near = new Date(Date.parse(chosen.at) + 5).toISOString();
  const drill = lazarus(['drill', file, '--at', near, '--nearest-checkpoint'], env);
  expect(drill.code).toBe(0);
  expect(drill.stderr).toContain(`checkpoint ${chosen.name} of group checkout`);
  const restored = lazarus(['restore', file, '--at', chosen.name, '--yes', '--json'], env);
  expect(restored.stderr).not.toMatch(/lazarus:/);
  expect(restored.code).toBe(0);

  const check = new Client({ ...pg.store, password: undefined });
  await check.connect();
  const rows = (await check.query<{ n: number }>('SELECT n FROM seq ORDER BY n')).rows.map((r) => r.n);
  await check.end();
  const list = (await kv.lrange('seq', 0, -1)).map(Number);
  kv.disconnect();
  const check2 = await mysql.createConnection({ ...maria.store, password: undefined });
  const [stockRows] = await check2.query('SELECT n FROM seq ORDER BY n');
  await check2.end();
  const stock = (stockRows as Array<{ n: number }>).map((r) => r.n);
  const lastStock = stock.at(-1) ?? 0;
  const lastPg = rows.at(-1) ?? 0;
  const lastRedis = list.at(-1) ?? 0;
  const allowed = Math.ceil(chosen.skewMs / TICK_MS) + 1;
  console.log(
    `checkpoint ${chosen.name} at ${chosen.at} (skew ${chosen.skewMs} ms, of ${all.length}): ` +
      `ledger ends at ${lastPg}, sessions at ${lastRedis}, stock at ${lastStock}, of ${n} written; allowed spread ${allowed}`,
  );
  expect(rows).toEqual(Array.from({ length: lastPg }, (_, i) => i + 1));
  expect(list).toEqual(Array.from({ length: lastRedis }, (_, i) => i + 1));
  expect(lastPg).toBeGreaterThan(0);
  expect(lastPg).toBeLessThan(n);
  expect(stock).toEqual(Array.from({ length: lastStock }, (_, i) => i + 1));
  const lasts = [lastPg, lastRedis, lastStock];
  expect(Math.max(...lasts) - Math.min(...lasts)).toBeLessThanOrEqual(allowed);
});
