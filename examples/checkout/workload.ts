/**
 * The checkout example: units of stock move between three services' stores, each move
 * touching two of them one after the other (stock in MariaDB, orders in PostgreSQL,
 * reservations in Redis). For every item, stock + ordered + reserved stays constant;
 * a set of snapshots taken at different moments breaks that sum. Every move passes the
 * application's pause gate, which Lazarus closes through an HTTP hook to freeze writes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Redis from 'ioredis';
import mysql from 'mysql2/promise';
import { Client, Pool } from 'pg';

export const ITEMS = 10;
export const UNITS_PER_ITEM = 1000;

/** Where the checkout keeps its state; a restore into other names is checked the same way. */
export interface CheckoutStores {
  stockDatabase: string;
  ordersDatabase: string;
  reservationsDb: number;
}

/** Closes for a freeze once no move is in flight; reopens on resume or when the lease lapses. */
export class PauseGate {
  private inFlight = 0;
  private closedUntil = 0;
  private reopenTimer?: NodeJS.Timeout;
  private waiters: (() => void)[] = [];
  private drained: (() => void)[] = [];

  async enter(): Promise<void> {
    while (this.closed()) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.inFlight++;
  }

  leave(): void {
    this.inFlight--;
    if (this.inFlight === 0) this.drained.splice(0).forEach((resolve) => resolve());
  }

  /** Closes the gate for at most `leaseMs`, and returns once the moves in flight have finished. */
  async pause(leaseMs: number): Promise<void> {
    this.closedUntil = Date.now() + leaseMs;
    clearTimeout(this.reopenTimer);
    this.reopenTimer = setTimeout(() => this.resume(), leaseMs);
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
  }

  resume(): void {
    this.closedUntil = 0;
    clearTimeout(this.reopenTimer);
    this.waiters.splice(0).forEach((resolve) => resolve());
  }

  private closed(): boolean {
    return Date.now() < this.closedUntil;
  }
}

/** The gate over HTTP, as the group's pause and resume hooks call it. */
export async function serveGate(gate: PauseGate): Promise<{ url: string; close(): void }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.url === '/pause') {
        const { freezeTimeoutMs } = JSON.parse(body || '{}') as { freezeTimeoutMs?: number };
        void gate.pause(freezeTimeoutMs ?? 2000).then(() => res.end('paused'));
      } else if (req.url === '/resume') {
        gate.resume();
        res.end('resumed');
      } else res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

interface Connections {
  stock: mysql.Pool;
  orders: Pool;
  reservations: Redis;
}

async function connect(stores: CheckoutStores): Promise<Connections> {
  const stock = mysql.createPool({
    host: '127.0.0.1',
    user: 'root',
    database: stores.stockDatabase,
    connectionLimit: 4,
  });
  const orders = new Pool({ host: '127.0.0.1', user: 'postgres', database: stores.ordersDatabase, max: 4 });
  const reservations = new Redis({ host: '127.0.0.1', db: stores.reservationsDb });
  return { stock, orders, reservations };
}

async function disconnect(c: Connections): Promise<void> {
  await c.stock.end();
  await c.orders.end();
  c.reservations.disconnect();
}

/** Creates the three stores with every unit in stock. */
export async function seedCheckout(stores: CheckoutStores): Promise<void> {
  const admin = await mysql.createConnection({ host: '127.0.0.1', user: 'root' });
  await admin.query(`DROP DATABASE IF EXISTS \`${stores.stockDatabase}\``);
  await admin.query(`CREATE DATABASE \`${stores.stockDatabase}\``);
  await admin.end();
  const pg = new Client({ host: '127.0.0.1', user: 'postgres', database: 'postgres' });
  await pg.connect();
  await pg.query(`DROP DATABASE IF EXISTS "${stores.ordersDatabase}" WITH (FORCE)`);
  await pg.query(`CREATE DATABASE "${stores.ordersDatabase}"`);
  await pg.end();

  const c = await connect(stores);
  await c.stock.query('CREATE TABLE stock (item INT PRIMARY KEY, qty INT NOT NULL) ENGINE=InnoDB');
  await c.orders.query('CREATE TABLE orders (item INT PRIMARY KEY, qty INT NOT NULL)');
  await c.reservations.flushdb();
  for (let item = 1; item <= ITEMS; item++) {
    await c.stock.query('INSERT INTO stock VALUES (?, ?)', [item, UNITS_PER_ITEM]);
    await c.orders.query('INSERT INTO orders VALUES ($1, 0)', [item]);
    await c.reservations.set(`reserved:${item}`, '0');
  }
  await disconnect(c);
}

/** Items whose units do not add up across the three stores. */
export async function invariantViolations(stores: CheckoutStores): Promise<number> {
  const c = await connect(stores);
  try {
    const [stock] = await c.stock.query<mysql.RowDataPacket[]>('SELECT item, qty FROM stock');
    const { rows: orders } = await c.orders.query<{ item: number; qty: number }>(
      'SELECT item, qty FROM orders',
    );
    const totals = new Map<number, number>();
    const add = (item: number, qty: number) => totals.set(item, (totals.get(item) ?? 0) + Number(qty));
    stock.forEach((r) => add(Number(r.item), Number(r.qty)));
    orders.forEach((r) => add(r.item, r.qty));
    for (let item = 1; item <= ITEMS; item++) add(item, Number(await c.reservations.get(`reserved:${item}`)));
    return [...totals.values()].filter((total) => total !== UNITS_PER_ITEM).length;
  } finally {
    await disconnect(c);
  }
}

/** Concurrent movers, each looping over moves until stopped; every finished move is timed. */
export class CheckoutWorkload {
  /** Completion times (epoch ms) of every move. */
  readonly completed: number[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private connections?: Connections;

  constructor(
    private readonly stores: CheckoutStores,
    private readonly gate: PauseGate,
    private readonly movers = 4,
  ) {}

  async start(): Promise<void> {
    this.connections = await connect(this.stores);
    this.running = true;
    this.loops = Array.from({ length: this.movers }, (_, i) => this.loop(i));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    await disconnect(this.connections!);
  }

  /** Moves per second among those finished inside, and outside, the given windows. */
  rates(windows: { from: number; to: number }[], span: { from: number; to: number }) {
    const inside = (t: number) => windows.some((w) => t >= w.from && t <= w.to);
    const frozenMs = windows.reduce((sum, w) => sum + (w.to - w.from), 0);
    const moves = this.completed.filter((t) => t >= span.from && t <= span.to);
    const during = moves.filter(inside).length;
    return {
      duringFreeze: frozenMs > 0 ? round((during / frozenMs) * 1000) : 0,
      outsideFreeze: round(((moves.length - during) / (span.to - span.from - frozenMs)) * 1000),
    };
  }

  private async loop(seed: number): Promise<void> {
    let n = seed;
    while (this.running) {
      await this.gate.enter();
      try {
        await this.move(n++ % 3, 1 + ((n * 7919 + seed) % ITEMS));
        this.completed.push(Date.now());
      } finally {
        this.gate.leave();
      }
    }
  }

  /** One unit from one store to the next, in two separate writes. */
  private async move(kind: number, item: number): Promise<void> {
    const { stock, orders, reservations } = this.connections!;
    const stockBy = (delta: number) =>
      stock.query('UPDATE stock SET qty = qty + ? WHERE item = ?', [delta, item]);
    const ordersBy = (delta: number) =>
      orders.query('UPDATE orders SET qty = qty + $1 WHERE item = $2', [delta, item]);
    const reservedBy = (delta: number) => reservations.incrby(`reserved:${item}`, delta);
    if (kind === 0) {
      await stockBy(-1);
      await ordersBy(1);
    } else if (kind === 1) {
      await ordersBy(-1);
      await reservedBy(1);
    } else {
      await reservedBy(-1);
      await stockBy(1);
    }
  }
}

/** The checkout's manifest, with or without the consistency group over its three stores. */
export function checkoutManifest(
  stores: CheckoutStores,
  options: { gateUrl?: string; group: boolean; stagingDb: number },
) {
  const gate = options.gateUrl;
  return {
    app: 'checkout',
    services: {
      stock: { datastore: { kind: 'mariadb', database: stores.stockDatabase } },
      orders: { datastore: { kind: 'postgres', database: stores.ordersDatabase } },
      reservations: {
        datastore: { kind: 'redis', db: stores.reservationsDb, staging_db: options.stagingDb },
      },
    },
    consistency_groups: options.group
      ? {
          checkout: {
            members: ['stock', 'orders', 'reservations'],
            ...(gate
              ? { pause: { http: { url: `${gate}/pause` } }, resume: { http: { url: `${gate}/resume` } } }
              : {}),
          },
        }
      : {},
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
