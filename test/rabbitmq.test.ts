/**
 * RabbitMQ on this machine's broker (127.0.0.1:5672, guest/guest, rabbitmqctl as root):
 * the datastore contract, then what is particular to the kind: a queue whose arguments
 * differ (report, recreate), bad input, users, the drain mode, live discovery, and the
 * figures for a vhost of 200 queues, exchanges and bindings. Every vhost is lz_rabbitmq_*.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type Channel, connect } from 'amqplib';
import { establishPoints } from '../activities/group-snapshot';
import { adapterFor } from '../datastores/adapters';
import { listRabbitmqStores } from '../datastores/rabbitmq/live';
import { datastoreSchema } from '../datastores/registry';
import type { FreezeContext } from '../datastores/adapter';
import { UserError } from '../model/errors';
import type { Datastore } from '../model/manifest';
import { Repository } from '../repository/repository';
import { ctx, datastoreContract } from './contracts/datastore';
import { tempDir } from './support/stores';
import { workerActivityDeps } from '../worker/activity-deps';

type RabbitmqStore = Extract<Datastore, { kind: 'rabbitmq' }>;

const store = (vhost: string, more: Partial<RabbitmqStore> = {}): RabbitmqStore =>
  datastoreSchema.parse({ kind: 'rabbitmq', vhost, import_timeout: 30, ...more }) as RabbitmqStore;

function ctl(...args: string[]): string {
  return execFileSync('rabbitmqctl', ['-q', ...args], { encoding: 'utf8' });
}

/** The user, if an earlier run left it. */
function deleteUser(user: string): void {
  if (/^lz_rabbitmq_app\b/m.test(ctl('list_users'))) ctl('delete_user', user);
}

function vhosts(): string[] {
  return (JSON.parse(ctl('list_vhosts', 'name', '--formatter', 'json')) as { name: string }[]).map(
    (v) => v.name,
  );
}

/** A fresh vhost guest may open, filled by `fill` over AMQP. */
async function freshVhost(vhost: string, fill: (channel: Channel) => Promise<void> = async () => {}) {
  if (vhosts().includes(vhost)) ctl('delete_vhost', vhost);
  ctl('add_vhost', vhost, '--description', `lazarus test ${vhost}`);
  ctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
  await withChannel(vhost, fill);
}

async function withChannel<T>(vhost: string, work: (channel: Channel) => Promise<T>): Promise<T> {
  const connection = await connect(`amqp://guest:guest@127.0.0.1:5672/${encodeURIComponent(vhost)}`);
  try {
    return await work(await connection.createChannel());
  } finally {
    await connection.close();
  }
}

/** `n` topic exchanges, each with a queue (every third a quorum queue) bound twice, and an exchange-to-exchange binding. */
async function topology(channel: Channel, n: number) {
  await channel.assertExchange('orders', 'topic', {
    durable: true,
    arguments: { 'alternate-exchange': 'unrouted' },
  });
  await channel.assertExchange('unrouted', 'fanout', { durable: true });
  for (let i = 0; i < n; i++) {
    const quorum = i % 3 === 0;
    await channel.assertExchange(`ex-${i}`, 'topic', { durable: true });
    await channel.assertQueue(`q-${i}`, {
      durable: true,
      arguments: quorum ? { 'x-queue-type': 'quorum', 'x-delivery-limit': 5 } : { 'x-max-length': 1000 + i },
    });
    await channel.bindQueue(`q-${i}`, `ex-${i}`, `key.${i}.#`);
    await channel.bindQueue(`q-${i}`, 'orders', `order.${i}`, { region: 'eu' });
    await channel.bindExchange(`ex-${i}`, 'orders', `fan.${i}`);
  }
}

const sourceVhost = 'lz_rabbitmq_src';
const targetVhost = 'lz_rabbitmq_dst';

async function sourceAndTarget() {
  await freshVhost(sourceVhost, (channel) => topology(channel, 10));
  ctl('set_policy', '-p', sourceVhost, 'ttl', '^q-', '{"message-ttl":600000}', '--apply-to', 'queues');
  ctl('set_vhost_limits', '-p', sourceVhost, '{"max-queues": 500}');
  await withChannel(sourceVhost, async (channel) => {
    for (let i = 0; i < 5; i++) channel.sendToQueue('q-1', Buffer.from(`message ${i}`));
    await channel.checkQueue('q-1');
  });
  await freshVhost(targetVhost, async (channel) => {
    await channel.assertExchange('stale-ex', 'direct');
    await channel.assertQueue('stale-q');
    await channel.bindQueue('stale-q', 'stale-ex', 'old');
  });
  ctl('set_policy', '-p', targetVhost, 'old', '^stale', '{"max-length":1}');
  return { source: store(sourceVhost), target: store(targetVhost) };
}

function stagingLeft(target: RabbitmqStore): string[] {
  return vhosts().filter((v) => v.startsWith(`${target.vhost}_lzs_`));
}

afterAll(() => {
  for (const vhost of vhosts().filter((v) => v.startsWith('lz_rabbitmq_'))) ctl('delete_vhost', vhost);
  deleteUser('lz_rabbitmq_app');
});

datastoreContract('rabbitmq', {
  stores: sourceAndTarget,
  leftovers: async (target) => stagingLeft(target),
  async checkRestored(target) {
    // Every queue with its arguments and type, the stale objects gone, and no messages copied.
    await withChannel(target.vhost, async (channel) => {
      expect((await channel.checkQueue('q-1')).messageCount).toBe(0);
      await channel.checkExchange('orders');
    });
    const queues = JSON.parse(
      ctl('list_queues', '-p', target.vhost, 'name', 'type', 'arguments', '--formatter', 'json'),
    ) as {
      name: string;
      type: string;
    }[];
    expect(queues.map((q) => q.name).sort()).toEqual([...Array(10).keys()].map((i) => `q-${i}`).sort());
    expect(queues.find((q) => q.name === 'q-3')?.type).toBe('quorum');
    expect(ctl('list_policies', '-p', target.vhost)).toMatch(/ttl/);
    expect(ctl('list_policies', '-p', target.vhost)).not.toMatch(/old/);
  },
});

async function backup(source: RabbitmqStore) {
  const repo = await Repository.openLocal(path.join(tempDir(), 'repo'), { workers: 0 });
  const ref = await repo.storeSnapshot(await adapterFor(source).snapshot(source, ctx()));
  return { repo, ref };
}

describe('a queue that exists with other arguments', () => {
  async function differing() {
    await freshVhost(sourceVhost, (c) =>
      c.assertQueue('orders', { durable: true, arguments: { 'x-max-length': 10 } }).then(() => {}),
    );
    const { repo, ref } = await backup(store(sourceVhost));
    await freshVhost(targetVhost, async (c) => {
      await c.assertQueue('orders', { durable: true, arguments: { 'x-max-length': 20 } });
      c.sendToQueue('orders', Buffer.from('kept until recreated'));
      await c.assertQueue('other');
    });
    return { repo, ref };
  }

  test('with on_mismatch: report, fails naming the queue, the argument and the fix, before writing anything', async () => {
    const { repo, ref } = await differing();
    const target = store(targetVhost);
    const before = await adapterFor(target).fingerprint(target);
    const restore = adapterFor(target).restore(target, repo.openSnapshot(ref), ctx());
    await expect(restore).rejects.toThrow(UserError);
    await expect(adapterFor(target).restore(target, repo.openSnapshot(ref), ctx())).rejects.toThrow(
      /queue "orders": argument x-max-length: 20 on the broker, 10 in the snapshot[\s\S]*Nothing was written. Set datastore.on_mismatch: recreate/,
    );
    expect(await adapterFor(target).fingerprint(target)).toBe(before);
    expect(stagingLeft(target)).toEqual([]);
  });

  test("with on_mismatch: recreate, is deleted and declared with the snapshot's arguments", async () => {
    const { repo, ref } = await differing();
    const target = store(targetVhost, { on_mismatch: 'recreate' });
    await adapterFor(target).restore(target, repo.openSnapshot(ref), ctx());
    expect(await adapterFor(target).fingerprint(target)).toBe(
      await adapterFor(target).fingerprint(store(sourceVhost)),
    );
    const queues = ctl('list_queues', '-p', targetVhost, 'name', 'arguments', 'messages');
    expect(queues).toMatch(/orders\s+\[\{"x-max-length",10\}\]\s+0/);
    expect(queues).not.toMatch(/other/);
  });
});

describe('bad input: a clear error naming the store and the fix, nothing written', () => {
  beforeAll(() => freshVhost(sourceVhost, (c) => c.assertQueue('q').then(() => {})));

  test.each([
    [
      'an unreachable broker',
      { port: 5679 },
      /rabbitmq:\/\/127.0.0.1:5679\/lz_rabbitmq_src: cannot reach the broker \(ECONNREFUSED\); check datastore.host and datastore.port/,
    ],
    [
      'wrong credentials',
      { password: { env: 'LZ_RABBITMQ_WRONG' } },
      /lz_rabbitmq_src: the broker refused the login of user "guest"; check datastore.user and datastore.password/,
    ],
    [
      'a vhost that does not exist',
      { vhost: 'lz_rabbitmq_nope' },
      /lz_rabbitmq_nope: the broker has no vhost "lz_rabbitmq_nope" \(it has .*"lz_rabbitmq_src".*\); fix datastore.vhost/,
    ],
  ])('%s, on backup', async (_, more, message) => {
    process.env.LZ_RABBITMQ_WRONG = 'not-the-password';
    const source = store(sourceVhost, more as Partial<RabbitmqStore>);
    const snapshot = adapterFor(source).snapshot(source, ctx());
    await expect(snapshot).rejects.toThrow(UserError);
    await expect(adapterFor(source).snapshot(source, ctx())).rejects.toThrow(message);
  });

  test('wrong credentials, on restore: refused before the target or a staging vhost is written', async () => {
    const { repo, ref } = await backup(store(sourceVhost));
    await freshVhost(targetVhost, (c) => c.assertQueue('mine').then(() => {}));
    process.env.LZ_RABBITMQ_WRONG = 'not-the-password';
    const target = store(targetVhost, { password: { env: 'LZ_RABBITMQ_WRONG' } });
    const before = await adapterFor(target).fingerprint(target);
    await expect(adapterFor(target).restore(target, repo.openSnapshot(ref), ctx())).rejects.toThrow(
      /refused the login of user "guest"/,
    );
    expect(await adapterFor(target).fingerprint(target)).toBe(before);
    expect(stagingLeft(target)).toEqual([]);
  });
});

test('users: true carries the users with permissions on the vhost, and their permissions', async () => {
  deleteUser('lz_rabbitmq_app');
  ctl('add_user', 'lz_rabbitmq_app', 'secret-1');
  await freshVhost(sourceVhost, (c) => c.assertQueue('q').then(() => {}));
  ctl('set_permissions', '-p', sourceVhost, 'lz_rabbitmq_app', '^q$', '.*', '.*');
  const { repo, ref } = await backup(store(sourceVhost, { users: true }));
  await freshVhost(targetVhost);
  const target = store(targetVhost, { users: true });
  await adapterFor(target).restore(target, repo.openSnapshot(ref), ctx());
  expect(await adapterFor(target).fingerprint(target)).toBe(
    await adapterFor(target).fingerprint(store(sourceVhost, { users: true })),
  );
  expect(ctl('list_permissions', '-p', targetVhost)).toMatch(/lz_rabbitmq_app\s+\^q\$\s+\.\*\s+\.\*/);
  // Without users: true, the same snapshot leaves access alone.
  expect(await adapterFor(target).fingerprint(store(targetVhost))).toBe(
    await adapterFor(target).fingerprint(store(sourceVhost)),
  );
});

test("a restore into a vhost that does not exist (a drill's sandbox) creates it, open to the store's user", async () => {
  await freshVhost(sourceVhost, (channel) => topology(channel, 3));
  const { repo, ref } = await backup(store(sourceVhost));
  const sandbox = store('lz_rabbitmq_src_lzd_drill001');
  if (vhosts().includes(sandbox.vhost)) ctl('delete_vhost', sandbox.vhost);
  expect(await adapterFor(sandbox).holdsData(sandbox)).toBe(false);
  await adapterFor(sandbox).restore(sandbox, repo.openSnapshot(ref), ctx());
  expect(await adapterFor(sandbox).fingerprint(sandbox)).toBe(
    await adapterFor(sandbox).fingerprint(store(sourceVhost)),
  );
  expect((await withChannel(sandbox.vhost, (c) => c.checkQueue('q-2'))).queue).toBe('q-2');
  await adapterFor(sandbox).drop(sandbox);
  expect(vhosts()).not.toContain(sandbox.vhost);
});

describe('drain mode', () => {
  const freeze = (): FreezeContext => ({
    ...ctx(),
    deadline: Date.now() + 60_000,
    leaseMs: 30_000,
    scratchDir: tempDir(),
  });

  test('waits until a queue being consumed is empty', async () => {
    await freshVhost(sourceVhost, async (c) => {
      await c.assertQueue('work', { durable: true });
      for (let i = 0; i < 300; i++) c.sendToQueue('work', Buffer.from(`job ${i}`));
      await c.checkQueue('work');
    });
    const connection = await connect(`amqp://guest:guest@127.0.0.1:5672/${sourceVhost}`);
    const channel = await connection.createChannel();
    await channel.prefetch(1);
    await channel.consume('work', (m) => void setTimeout(() => m && channel.ack(m), 5));
    try {
      const source = store(sourceVhost, { drain: { timeout: 30_000 } });
      const started = Date.now();
      await adapterFor(source).freezeWrites!(source, freeze());
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(ctl('list_queues', '-p', sourceVhost, 'name', 'messages')).toMatch(/work\s+0/);
      const point = await adapterFor(source).snapshotPoint(source, freeze());
      expect(point.position).toMatch(/^queues empty at /);
      await point.close();
    } finally {
      await connection.close();
    }
  });

  test('times out with a message naming the queue that does not drain', async () => {
    await freshVhost(sourceVhost, async (c) => {
      await c.assertQueue('stuck', { durable: true });
      await c.assertQueue('empty', { durable: true });
      for (let i = 0; i < 3; i++) c.sendToQueue('stuck', Buffer.from(`job ${i}`));
      await c.checkQueue('stuck');
    });
    const source = store(sourceVhost, { drain: { timeout: 3 } });
    await expect(adapterFor(source).freezeWrites!(source, freeze())).rejects.toThrow(
      /1 queue\(s\) did not drain within 3.0 s: "stuck" \(3 ready, 0 unacknowledged\); check that their consumers run/,
    );
  });
});

test("in a consistency group, the pause hook stops the producer and the group's point waits for the queue to drain", async () => {
  await freshVhost(sourceVhost, (c) => c.assertQueue('orders', { durable: true }).then(() => {}));
  const dir = tempDir();
  const stopFile = path.join(dir, 'producers-paused');
  const connection = await connect(`amqp://guest:guest@127.0.0.1:5672/${sourceVhost}`);
  const channel = await connection.createChannel();
  await channel.prefetch(5);
  await channel.consume('orders', (m) => void setTimeout(() => m && channel.ack(m), 20));
  // The application's producer: publishes until its pause flag appears.
  let published = 0;
  const producer = setInterval(() => {
    if (existsSync(stopFile)) return;
    for (let i = 0; i < 20; i++) channel.sendToQueue('orders', Buffer.from(`order ${published++}`));
  }, 10);
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const held = await establishPoints(
      {
        group: 'shop',
        members: [
          {
            service: 'broker',
            datastore: store(sourceVhost, { drain: { timeout: 60 } }),
            stagingId: 'group001',
          },
        ],
        maxFreezeMs: 90_000,
        leaseMs: 30_000,
        pause: { command: `touch ${stopFile}`, timeout: 10_000, on_error: 'fail' },
        resume: { command: `rm -f ${stopFile}`, timeout: 10_000, on_error: 'fail' },
        context: { app: 'shop' },
        scratchDir: path.join(dir, 'scratch'),
      },
      new AbortController().signal,
      workerActivityDeps(),
    );
    const point = held.points.get('broker')!;
    expect(point.position).toMatch(/^queues empty at /);
    expect(published).toBeGreaterThan(100);
    expect(existsSync(stopFile)).toBe(false); // resumed
    const chunks: Buffer[] = [];
    for await (const chunk of await point.open()) chunks.push(chunk as Buffer);
    expect(JSON.parse(Buffer.concat(chunks).toString()).definitions.queues).toEqual([
      expect.objectContaining({ name: 'orders' }),
    ]);
  } finally {
    clearInterval(producer);
    await connection.close();
  }
});

test('live discovery lists one store per vhost, the password masked in errors', async () => {
  await freshVhost(sourceVhost);
  const found = await listRabbitmqStores('amqp://guest:guest@127.0.0.1:5672');
  expect(found).toContainEqual({
    name: 'rabbitmq-lz_rabbitmq_src',
    datastore: { kind: 'rabbitmq', host: '127.0.0.1', port: 5672, vhost: sourceVhost, user: 'guest' },
  });
  await expect(listRabbitmqStores('amqp://guest:s3cret@127.0.0.1:5679')).rejects.toThrow(
    /amqp:\/\/guest:\*\*\*@127.0.0.1:5679.*cannot reach/,
  );
});

test('figures: a vhost of 200 queues, 200 exchanges and 600 bindings round-trips', async () => {
  await freshVhost(sourceVhost, (channel) => topology(channel, 200));
  await freshVhost(targetVhost);
  const source = store(sourceVhost);
  const target = store(targetVhost);
  let started = Date.now();
  const { repo, ref } = await backup(source);
  const backupMs = Date.now() - started;
  started = Date.now();
  await adapterFor(target).restore(target, repo.openSnapshot(ref), ctx());
  const restoreMs = Date.now() - started;
  expect(await adapterFor(target).fingerprint(target)).toBe(await adapterFor(source).fingerprint(source));
  console.log(`rabbitmq figures: snapshot ${ref.size} bytes, backup ${backupMs} ms, restore ${restoreMs} ms`);
}, 300_000);
