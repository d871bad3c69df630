/** Real test data in this machine's PostgreSQL, MariaDB, Redis, SQLite and filesystem. */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import Redis from 'ioredis';
import mysql from 'mysql2/promise';
import { Client } from 'pg';
import YAML from 'yaml';
import { adapterFor } from '../../datastores/adapters';
import type { Datastore } from '../../model/manifest';

export { tempDir } from './temp-dir';

export async function writeManifest(dir: string, manifest: unknown): Promise<string> {
  const file = path.join(dir, 'lazarus.yaml');
  await fs.writeFile(file, YAML.stringify(manifest));
  return file;
}

export function fingerprint(store: Datastore): Promise<string> {
  return adapterFor(store).fingerprint(store);
}

export function sqliteWithRows(file: string, rows: number, seed = 'x'): void {
  const db = new Database(file);
  db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT, payload BLOB)');
  const insert = db.prepare('INSERT INTO items VALUES (?, ?, ?)');
  db.transaction(() => {
    for (let i = 1; i <= rows; i++) insert.run(i, `${seed}-${i}`, randomBytes(64));
  })();
  db.close();
}

export async function directoryWithFiles(dir: string, files: number, bytesEach: number): Promise<void> {
  for (let i = 0; i < files; i++) {
    const sub = path.join(dir, `part-${i % 3}`);
    await fs.mkdir(sub, { recursive: true });
    await fs.writeFile(path.join(sub, `file-${i}.bin`), randomBytes(bytesEach));
  }
}

export async function postgresWithRows(database: string, rows: number): Promise<void> {
  const admin = new Client({ host: '127.0.0.1', user: 'postgres', database: 'postgres' });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const db = new Client({ host: '127.0.0.1', user: 'postgres', database });
  await db.connect();
  await db.query(
    'CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12,2), tags jsonb)',
  );
  await db.query(
    `INSERT INTO accounts SELECT g, 'owner-' || g, g * 1.25, jsonb_build_object('n', g) FROM generate_series(1, $1) g`,
    [rows],
  );
  await db.query('CREATE INDEX accounts_owner ON accounts (owner)');
  await db.end();
}

export async function postgresQuery(database: string, sql: string): Promise<unknown[]> {
  const db = new Client({ host: '127.0.0.1', user: 'postgres', database });
  await db.connect();
  try {
    return (await db.query(sql)).rows;
  } finally {
    await db.end();
  }
}

export async function postgresDatabases(prefix: string): Promise<string[]> {
  const rows = (await postgresQuery(
    'postgres',
    `SELECT datname FROM pg_database WHERE datname LIKE '${prefix}%'`,
  )) as {
    datname: string;
  }[];
  return rows.map((r) => r.datname).sort();
}

export async function mariadbWithRows(database: string, rows: number): Promise<void> {
  const db = await mysql.createConnection({ host: '127.0.0.1', user: 'root', multipleStatements: true });
  await db.query(`DROP DATABASE IF EXISTS ${database}; CREATE DATABASE ${database}; USE ${database};
    CREATE TABLE stock (id INT PRIMARY KEY, sku VARCHAR(40) NOT NULL, qty INT, photo BLOB);`);
  const values = Array.from(
    { length: rows },
    (_, i) => `(${i + 1}, 'sku-${i + 1}', ${i % 97}, x'${randomBytes(16).toString('hex')}')`,
  );
  await db.query(`INSERT INTO stock VALUES ${values.join(',')}`);
  await db.end();
}

export async function mariadbQuery(sql: string): Promise<unknown[]> {
  const db = await mysql.createConnection({ host: '127.0.0.1', user: 'root' });
  try {
    const [rows] = await db.query(sql);
    return rows as unknown[];
  } finally {
    await db.end();
  }
}

export async function redisWithKeys(db: number, keys: number): Promise<void> {
  const redis = new Redis({ host: '127.0.0.1', db });
  await redis.flushdb();
  const pipe = redis.pipeline();
  for (let i = 0; i < keys; i++) {
    pipe.set(`str:${i}`, `value-${i}`);
    pipe.hset(`hash:${i}`, { a: String(i), b: randomBytes(8).toString('hex') });
  }
  pipe.rpush('list', 'a', 'b', 'c');
  pipe.zadd('ranking', 1, 'x', 2, 'y');
  pipe.set('with-ttl', 'soon', 'EX', 3600);
  await pipe.exec();
  redis.disconnect();
}

export function redisClient(db: number): Redis {
  return new Redis({ host: '127.0.0.1', db });
}
