/** The source's replication head (INFO replication) and named marks in its stream. */
import type { LogPoint } from '../../capture';
import type { Datastore } from '../../../model/manifest';
import { withRedis } from '../adapter';
import { offsetPoint } from './points';

type RedisStore = Extract<Datastore, { kind: 'redis' }>;

/** The channel a mark is published on: PUBLISH reaches the replication stream and changes no key. */
export const MARK_CHANNEL = '__lazarus__:mark';

export function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

export function headOf(info: string): LogPoint & { lineage: string } {
  const replid = infoField(info, 'master_replid');
  const offset = Number(infoField(info, 'master_repl_offset'));
  if (!replid || !Number.isInteger(offset))
    throw new Error('redis: INFO replication has no master_replid/master_repl_offset');
  return { ...offsetPoint(replid, offset), lineage: replid };
}

export function head(store: RedisStore): Promise<LogPoint & { lineage: string }> {
  return withRedis(store, store.db, async (redis) => headOf(await redis.info('replication')));
}

// The server's own clock, read in the same atomic step as the PUBLISH: the mark's time.
const MARK_SCRIPT = `local t = redis.call('TIME')
redis.call('PUBLISH', KEYS[1], ARGV[1] .. ' ' .. t[1] .. '.' .. string.format('%06d', t[2]))
return t`;

/**
 * A named point: PUBLISH on MARK_CHANNEL puts "<name> <server time>" into the stream, where
 * a replay finds it. The offset returned is the head right after, an upper bound (writes of
 * others may follow the mark before INFO runs); the replay stops exactly after the PUBLISH.
 */
export function mark(store: RedisStore, name: string): Promise<LogPoint & { lineage: string }> {
  if (!/^[A-Za-z0-9_.:-]+$/.test(name)) throw new Error(`redis: mark name "${name}" is not an identifier`);
  return withRedis(store, store.db, async (redis) => {
    const [seconds, micros] = (await redis.eval(MARK_SCRIPT, 1, MARK_CHANNEL, name)) as [string, string];
    const point = headOf(await redis.info('replication'));
    return { ...point, time: new Date(Number(seconds) * 1000 + Number(micros) / 1000).toISOString() };
  });
}
