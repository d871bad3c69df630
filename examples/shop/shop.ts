/**
 * The shop example's own data: what its services would write, and the disaster the
 * demo inflicts on it. Deterministic, so every run seeds the same content.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import Redis from 'ioredis';
import mysql from 'mysql2/promise';
import { Client } from 'pg';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { Int32, MongoClient } from 'mongodb';
import { AckPolicy, connect as connectNats, headers } from 'nats';
import type { Datastore } from '../../model/manifest';

type Store<K extends Datastore['kind']> = Extract<Datastore, { kind: K }>;

/** A small deterministic generator, so the seeded data is the same on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const SQLITE_SEEDS: Record<string, (db: Database.Database) => void> = {
  catalog(db) {
    db.exec(
      'CREATE TABLE products (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, name TEXT, price_cents INTEGER)',
    );
    const insert = db.prepare('INSERT INTO products VALUES (?, ?, ?, ?)');
    const rnd = random(1);
    for (let i = 1; i <= 2000; i++) insert.run(i, `SKU-${i}`, `Product ${i}`, Math.floor(rnd() * 10000) + 99);
  },
  accounts(db) {
    db.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT UNIQUE, name TEXT)');
    const insert = db.prepare('INSERT INTO customers VALUES (?, ?, ?)');
    for (let i = 1; i <= 1000; i++) insert.run(i, `customer${i}@example.com`, `Customer ${i}`);
  },
  orders(db) {
    db.exec(
      'CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, product_id INTEGER, quantity INTEGER)',
    );
    const insert = db.prepare('INSERT INTO orders VALUES (?, ?, ?, ?)');
    const rnd = random(2);
    for (let i = 1; i <= 5000; i++) {
      insert.run(i, Math.ceil(rnd() * 1000), Math.ceil(rnd() * 2000), Math.ceil(rnd() * 5));
    }
  },
};

export async function seedService(name: string, store: Datastore): Promise<void> {
  switch (store.kind) {
    case 'sqlite':
      return seedSqlite(name, store);
    case 'directory':
      return seedMedia(store);
    case 'postgres':
      return seedPayments(store);
    case 'mariadb':
      return seedInventory(store);
    case 'redis':
      return seedSessions(store);
    case 'mongodb':
      return seedReviews(store);
    case 'rabbitmq':
      return seedEvents(store);
    case 'nats':
      return seedNotifications(store);
    default:
      throw notInTheShop(store);
  }
}

/** The shop seeds and breaks the kinds it uses; a new kind need not join the example. */
function notInTheShop(store: Datastore): Error {
  return new Error(`the shop example has no ${store.kind} service`);
}

async function seedSqlite(name: string, store: Store<'sqlite'>): Promise<void> {
  await fs.mkdir(path.dirname(store.path), { recursive: true });
  await fs.rm(store.path, { force: true });
  const db = new Database(store.path);
  try {
    db.pragma('journal_mode = WAL');
    db.transaction(() => SQLITE_SEEDS[name](db))();
  } finally {
    db.close();
  }
}

async function seedMedia(store: Store<'directory'>): Promise<void> {
  await fs.rm(store.path, { recursive: true, force: true });
  const rnd = random(3);
  for (let i = 1; i <= 300; i++) {
    const dir = path.join(store.path, 'products', String(i % 20));
    await fs.mkdir(dir, { recursive: true });
    const bytes = Buffer.alloc(4096 + Math.floor(rnd() * 60000));
    for (let b = 0; b < bytes.length; b++) bytes[b] = Math.floor(rnd() * 256);
    await fs.writeFile(path.join(dir, `product-${i}.jpg`), bytes);
  }
}

async function seedPayments(store: Store<'postgres'>): Promise<void> {
  const admin = new Client({ host: store.host, port: store.port, user: store.user, database: 'postgres' });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${store.database} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${store.database}`);
  await admin.end();
  const db = new Client({ host: store.host, port: store.port, user: store.user, database: store.database });
  await db.connect();
  await db.query(
    'CREATE TABLE payments (id serial PRIMARY KEY, order_id int NOT NULL, amount_cents int, paid_at timestamptz)',
  );
  await db.query(
    `INSERT INTO payments (order_id, amount_cents, paid_at)
     SELECT g, (g * 37) % 10000, timestamptz '2026-01-01' + g * interval '1 minute' FROM generate_series(1, 5000) g`,
  );
  await db.end();
}

async function seedInventory(store: Store<'mariadb'>): Promise<void> {
  const db = await mysql.createConnection({
    host: store.host,
    port: store.port,
    user: store.user,
    multipleStatements: true,
  });
  await db.query(`DROP DATABASE IF EXISTS ${store.database}; CREATE DATABASE ${store.database}; USE ${store.database};
    CREATE TABLE stock (product_id INT PRIMARY KEY, on_hand INT NOT NULL);`);
  const values = Array.from({ length: 2000 }, (_, i) => `(${i + 1}, ${(i * 7) % 500})`).join(',');
  await db.query(`INSERT INTO stock VALUES ${values}`);
  await db.end();
}

async function seedSessions(store: Store<'redis'>): Promise<void> {
  const redis = new Redis({ host: store.host, port: store.port, db: store.db });
  await redis.flushdb();
  const pipe = redis.pipeline();
  for (let i = 1; i <= 1000; i++) pipe.hset(`session:${i}`, { customer: String(i), cart: `[${i % 7}]` });
  pipe.set('sessions:count', '1000');
  await pipe.exec();
  redis.disconnect();
}

async function withMongo<T>(store: Store<'mongodb'>, work: (client: MongoClient) => Promise<T>): Promise<T> {
  const client = new MongoClient(`mongodb://${store.host}:${store.port}`, {
    serverSelectionTimeoutMS: 10_000,
  });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

async function seedReviews(store: Store<'mongodb'>): Promise<void> {
  await withMongo(store, async (client) => {
    const db = client.db(store.database);
    await db.dropDatabase();
    const rnd = random(4);
    const reviews = Array.from({ length: 3000 }, (_, i) => ({
      _id: i + 1,
      product: i + 1 > 2000 ? ((i + 1) % 2000) + 1 : i + 1,
      stars: new Int32(1 + Math.floor(rnd() * 5)),
      text: `Review ${i + 1}`,
      at: new Date(Date.UTC(2026, 0, 1) + i * 60_000),
    }));
    await db.collection<{ _id: number }>('reviews').insertMany(reviews);
    await db.collection<{ _id: number }>('reviews').createIndex({ product: 1 });
    await db.createCollection('moderation_log', { capped: true, size: 65536 });
  });
}

const run = promisify(execFile);

/** The events vhost: an exchange, two queues with arguments and their bindings (no messages). */
async function seedEvents(store: Store<'rabbitmq'>): Promise<void> {
  await run('rabbitmqctl', ['-q', 'delete_vhost', store.vhost]).catch(() => undefined);
  await run('rabbitmqctl', ['-q', 'add_vhost', store.vhost]);
  await run('rabbitmqctl', ['-q', 'set_permissions', '-p', store.vhost, store.user, '.*', '.*', '.*']);
  const connection = await amqp.connect({ hostname: store.host, port: store.port, vhost: store.vhost });
  const channel = await connection.createChannel();
  await channel.assertExchange('orders', 'topic', { durable: true });
  await channel.assertQueue('orders.created', { durable: true, arguments: { 'x-max-length': 100_000 } });
  await channel.assertQueue('orders.shipped', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await channel.bindQueue('orders.created', 'orders', 'order.created.*');
  await channel.bindQueue('orders.shipped', 'orders', 'order.shipped.*');
  await connection.close();
}

async function withJetStream<T>(
  store: Store<'nats'>,
  work: (
    jsm: Awaited<ReturnType<Awaited<ReturnType<typeof connectNats>>['jetstreamManager']>>,
    publish: (subject: string, data: string, id: string) => Promise<void>,
  ) => Promise<T>,
): Promise<T> {
  const nc = await connectNats({ servers: `${store.host}:${store.port}` });
  try {
    const js = nc.jetstream();
    const publish = async (subject: string, data: string, id: string) => {
      const h = headers();
      h.set('Nats-Msg-Id', id);
      await js.publish(subject, data, { headers: h });
    };
    return await work(await nc.jetstreamManager(), publish);
  } finally {
    await nc.close();
  }
}

/** 500 notifications, 200 of them already delivered to the mailer (its durable consumer's ack floor). */
async function seedNotifications(store: Store<'nats'>): Promise<void> {
  const stream = store.streams[0];
  await withJetStream(store, async (jsm, publish) => {
    await jsm.streams.delete(stream).catch(() => false);
    await jsm.streams.add({ name: stream, subjects: ['shop.notify.>'] });
    for (let i = 1; i <= 500; i++)
      await publish(`shop.notify.customer${(i % 1000) + 1}`, `order ${i} shipped`, `n${i}`);
    await jsm.consumers.add(stream, { durable_name: 'mailer', ack_policy: AckPolicy.Explicit });
  });
  const nc = await connectNats({ servers: `${store.host}:${store.port}` });
  const consumer = await nc.jetstream().consumers.get(stream, 'mailer');
  const batch = await consumer.fetch({ max_messages: 200, expires: 5000 });
  for await (const message of batch) message.ack();
  await nc.flush();
  await nc.close();
}

/** The disaster: files deleted and corrupted, rows and keys dropped. Returns what was done. */
export async function breakService(name: string, store: Datastore): Promise<string> {
  switch (store.kind) {
    case 'sqlite':
      if (name === 'orders') {
        const db = new Database(store.path);
        db.exec('DELETE FROM orders WHERE id % 3 = 0');
        db.close();
        return 'deleted a third of the orders';
      }
      if (name === 'accounts') {
        await fs.rm(`${store.path}-wal`, { force: true });
        await fs.writeFile(store.path, Buffer.from('this is not a database any more'));
        return 'overwrote the database file with garbage';
      }
      await fs.rm(store.path, { force: true });
      return 'deleted the database file';
    case 'directory': {
      const dir = path.join(store.path, 'products', '3');
      await fs.rm(dir, { recursive: true, force: true });
      await fs.writeFile(path.join(store.path, 'products', '4', 'product-4.jpg'), 'corrupted');
      return 'deleted a folder of images and corrupted another';
    }
    case 'postgres': {
      const db = new Client({
        host: store.host,
        port: store.port,
        user: store.user,
        database: store.database,
      });
      await db.connect();
      await db.query('DROP TABLE payments');
      await db.end();
      return 'dropped the payments table';
    }
    case 'mariadb': {
      const db = await mysql.createConnection({ host: store.host, port: store.port, user: store.user });
      await db.query(`UPDATE ${store.database}.stock SET on_hand = 0`);
      await db.end();
      return 'zeroed every stock level';
    }
    case 'redis': {
      const redis = new Redis({ host: store.host, port: store.port, db: store.db });
      await redis.flushdb();
      redis.disconnect();
      return 'flushed every session';
    }
    case 'mongodb':
      await withMongo(store, async (client) => {
        await client
          .db(store.database)
          .collection('reviews')
          .deleteMany({ stars: { $lt: 3 } });
        await client.db(store.database).collection('spam').insertOne({ text: 'buy now' });
      });
      return 'deleted the bad reviews and added a spam collection';
    case 'rabbitmq': {
      const connection = await amqp.connect({ hostname: store.host, port: store.port, vhost: store.vhost });
      const channel = await connection.createChannel();
      await channel.deleteQueue('orders.created');
      await channel.unbindQueue('orders.shipped', 'orders', 'order.shipped.*');
      await connection.close();
      return 'deleted a queue and a binding';
    }
    case 'nats':
      await withJetStream(store, (jsm) => jsm.streams.delete(store.streams[0]));
      return 'deleted the stream and its consumer';
    default:
      throw notInTheShop(store);
  }
}
