import { UserError } from '../../model/errors';
import { Readable } from 'node:stream';
import { ContentHash } from '../shared/fingerprint';
import Redis from 'ioredis';
import type { Datastore } from '../../model/manifest';
import type { AdapterFor } from '../adapter';
import { redis as redisSpec } from './spec';
import { KeyRecord, decodeRecords, encodeRecord } from './records';
import { forkPoint, replicationOffset } from './fork';
import { resolveSecret } from '../shared/secrets';

type RedisStore = Extract<Datastore, { kind: 'redis' }>;

const BATCH = 500;
/** Marks a staging database as Lazarus's own, so an interrupted restore's leftovers can be cleared. */
const STAGING_MARKER = '__lazarus_staging__';

/**
 * Redis through SCAN + DUMP/PTTL and RESTORE. A restore fills the (empty) staging
 * database and swaps it with the target in one MULTI: readers see the old keyspace or
 * the new one, never a mix.
 */
export const redisAdapter: AdapterFor<'redis'> = {
  kind: 'redis',

  async snapshot(store) {
    const redis = connect(store, store.db);
    await redis.connect();
    return Readable.from(dumpKeys(redis), { objectMode: false });
  },

  /** CLIENT PAUSE WRITE lapses by itself after the lease: a dead worker's pause cannot outlive it. */
  async freezeWrites(store, ctx) {
    const redis = connect(store, store.db);
    await redis.connect();
    const pause = () => redis.client('PAUSE', String(ctx.leaseMs), 'WRITE');
    await pause();
    return {
      renew: async () => void (await pause()),
      release: async () => {
        await redis.client('UNPAUSE');
        redis.disconnect();
      },
    };
  },

  /** The replication offset only moves once a replica has connected: on a lone server it is no measure. */
  async logPosition(store) {
    return withRedis(store, store.db, async (redis) => {
      const position = replicationOffset(String(await redis.info('replication')));
      return position === 'replication offset 0' ? undefined : position;
    });
  },

  async snapshotPoint(store, ctx) {
    return forkPoint((work) => withRedis(store, store.db, work), store.db, ctx, dumpKeys);
  },

  async restore(store, data, ctx) {
    if (store.staging_db === store.db)
      throw new UserError(`redis: staging_db must differ from db (both ${store.db})`);
    await withRedis(store, store.staging_db, async (redis) => {
      await claimStaging(redis, store, ctx.stagingId);
      await restoreKeys(redis, decodeRecords(data), ctx.signal);
      await redis
        .multi()
        .select(store.db)
        .swapdb(store.db, store.staging_db)
        .del(STAGING_MARKER)
        .select(store.staging_db)
        .flushdb()
        .exec();
    });
  },

  async fingerprint(store) {
    return withRedis(store, store.db, async (redis) => {
      const keys: Buffer[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scanBuffer(cursor, 'COUNT', BATCH);
        cursor = String(next);
        keys.push(...batch);
      } while (cursor !== '0');
      keys.sort(Buffer.compare);
      const sum = new ContentHash();
      // DUMP encodes the value alone (not its TTL), so equal data dumps equal.
      for (const key of keys) sum.add(key, (await redis.dumpBuffer(key)) ?? null);
      return sum.hex();
    });
  },

  async discard(store) {
    await withRedis(store, store.staging_db, async (redis) => {
      if ((await redis.exists(STAGING_MARKER)) === 1) await redis.flushdb();
    });
  },

  holdsData: (store) => withRedis(store, store.db, async (redis) => (await redis.dbsize()) > 0),
  drop: (store) => withRedis(store, store.db, async (redis) => void (await redis.flushdb())),
  count: (store, pattern) =>
    withRedis(store, store.db, async (redis) => {
      let cursor = '0';
      let keys = 0;
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', BATCH);
        cursor = next;
        keys += batch.length;
      } while (cursor !== '0');
      return keys;
    }),
  retarget: redisSpec.retarget,
  describe: (store) => `redis://${store.host}:${store.port}/${store.db}`,
};

/** What reaching a Redis server takes: a cache entry (datastores/caches) has it too. */
type RedisServer = Pick<RedisStore, 'host' | 'port' | 'password'>;

function connect(store: RedisServer, db: number): Redis {
  return new Redis({
    host: store.host,
    port: store.port,
    db,
    password: resolveSecret(store.password),
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    // A half-open connection fails the attempt instead of hanging it.
    connectTimeout: 10_000,
    commandTimeout: 60_000,
  });
}

export async function withRedis<T>(
  store: RedisServer,
  db: number,
  work: (redis: Redis) => Promise<T>,
): Promise<T> {
  const redis = connect(store, db);
  await redis.connect();
  try {
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

async function* dumpKeys(redis: Redis): AsyncGenerator<Buffer> {
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scanBuffer(cursor, 'COUNT', BATCH);
      cursor = String(next);
      if (keys.length === 0) continue;
      const pipe = redis.pipeline();
      for (const key of keys) pipe.dumpBuffer(key).pttl(key);
      const replies = (await pipe.exec()) ?? [];
      const records: Buffer[] = [];
      keys.forEach((key, i) => {
        const payload = replies[2 * i][1] as Buffer | null;
        const pttl = replies[2 * i + 1][1] as number;
        // A key that expired or was deleted between SCAN and DUMP is simply not in the snapshot.
        if (payload) records.push(encodeRecord({ key, payload, pttl: pttl > 0 ? pttl : -1 }));
      });
      yield Buffer.concat(records);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

async function claimStaging(redis: Redis, store: RedisStore, stagingId: string): Promise<void> {
  const size = await redis.dbsize();
  if (size > 0 && (await redis.exists(STAGING_MARKER)) === 0) {
    throw new UserError(
      `redis: staging database ${store.staging_db} on ${store.host}:${store.port} is not empty; ` +
        'set datastore.staging_db to an unused database index',
    );
  }
  await redis.flushdb();
  await redis.set(STAGING_MARKER, stagingId);
}

async function restoreKeys(
  redis: Redis,
  records: AsyncIterable<KeyRecord>,
  signal: AbortSignal,
): Promise<void> {
  let pipe = redis.pipeline();
  let queued = 0;
  for await (const { key, payload, pttl } of records) {
    signal.throwIfAborted();
    pipe.restore(key, pttl > 0 ? pttl : 0, payload, 'REPLACE');
    if (++queued === BATCH) {
      await execOrThrow(pipe);
      pipe = redis.pipeline();
      queued = 0;
    }
  }
  if (queued > 0) await execOrThrow(pipe);
}

async function execOrThrow(pipe: ReturnType<Redis['pipeline']>): Promise<void> {
  const failed = ((await pipe.exec()) ?? []).find(([err]) => err);
  if (failed) throw failed[0];
}
