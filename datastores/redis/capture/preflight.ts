/**
 * What capture needs of a Redis source (pitr.md section 4): the PSYNC, REPLCONF and SYNC
 * commands allowed to the user, a backlog that outlasts a capture outage at the current
 * write rate, a backlog kept that long without replicas, and a replica output buffer that
 * does not drop a capture during a burst. Only reads (INFO, CONFIG GET, ACL DRYRUN).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type Redis from 'ioredis';
import type { Requirement } from '../../capture';
import type { Datastore } from '../../../model/manifest';
import { withRedis } from '../adapter';
import { infoField } from './head';

type RedisStore = Extract<Datastore, { kind: 'redis' }>;

/** The capture outage the backlog must bridge (a worker restart, a deploy): 10 minutes. */
export const TOLERATED_OUTAGE_S = 600;
const MIN_BACKLOG = 16 * 1024 * 1024;
const MIN_REPLICA_BUFFER = 64 * 1024 * 1024;
const MIB = 1024 * 1024;

export async function preflight(store: RedisStore): Promise<Requirement[]> {
  try {
    return await withRedis(store, store.db, async (redis) => [
      ...(await aclRequirements(redis)),
      ...(await backlogRequirements(redis)),
      ...(await bufferRequirements(redis)),
    ]);
  } catch (err) {
    return [
      {
        setting: 'connection',
        found: `${store.host}:${store.port}: ${(err as Error).message}`,
        needed: 'a reachable server and a password it accepts',
        fix: 'check datastore.host, datastore.port and datastore.password',
      },
    ];
  }
}

async function aclRequirements(redis: Redis): Promise<Requirement[]> {
  const needed = 'the psync, replconf and sync commands allowed';
  let user = 'default';
  try {
    user = String(await redis.call('ACL', 'WHOAMI'));
    const denied: string[] = [];
    for (const command of [['PSYNC', '?', '-1'], ['REPLCONF', 'listening-port', '0'], ['SYNC']]) {
      const verdict = String(await redis.call('ACL', 'DRYRUN', user, ...command));
      if (verdict !== 'OK') denied.push(command[0].toLowerCase());
    }
    if (denied.length === 0) return [];
    return [{ setting: `ACL user ${user}`, found: `${denied.join(', ')} denied`, needed, fix: aclFix(user) }];
  } catch (err) {
    return [
      {
        setting: `ACL user ${user}`,
        found: `cannot be checked: ${(err as Error).message}`,
        needed,
        fix: aclFix(user),
      },
    ];
  }
}

function aclFix(user: string): string {
  return `ACL SETUSER ${user} +psync +replconf +sync (and ACL SAVE, or the same rule in the ACL file / redis.conf)`;
}

async function backlogRequirements(redis: Redis): Promise<Requirement[]> {
  const size = Number(await configValue(redis, 'repl-backlog-size'));
  const ttl = Number(await configValue(redis, 'repl-backlog-ttl'));
  const rate = await writeRate(redis);
  const needed = Math.max(MIN_BACKLOG, Math.ceil((rate * TOLERATED_OUTAGE_S) / MIB) * MIB);
  const found: Requirement[] = [];
  if (size < needed) {
    found.push({
      setting: 'repl-backlog-size',
      found: `${size} bytes (${(size / MIB).toFixed(1)} MiB)`,
      needed: `at least ${needed} bytes (${needed / MIB} MiB: ${Math.round(rate)} bytes/s written × ${TOLERATED_OUTAGE_S} s of capture outage, 16 MiB at least)`,
      fix: `CONFIG SET repl-backlog-size ${needed / MIB}mb, and "repl-backlog-size ${needed / MIB}mb" in redis.conf to keep it (no restart)`,
    });
  }
  if (ttl !== 0 && ttl < TOLERATED_OUTAGE_S) {
    found.push({
      setting: 'repl-backlog-ttl',
      found: `${ttl} s`,
      needed: `0 (never freed) or at least ${TOLERATED_OUTAGE_S} s: the backlog must survive a capture outage`,
      fix: `CONFIG SET repl-backlog-ttl ${TOLERATED_OUTAGE_S}, and the same in redis.conf`,
    });
  }
  return found;
}

/** Bytes a second into the replication stream: its offset's growth once a backlog exists, else client input. */
async function writeRate(redis: Redis): Promise<number> {
  const before = await redis.info();
  const backlogActive = infoField(before, 'repl_backlog_active') === '1';
  if (!backlogActive) return Number(infoField(before, 'instantaneous_input_kbps') ?? 0) * 1024;
  await sleep(1000);
  const after = await redis.info('replication');
  return Number(infoField(after, 'master_repl_offset')) - Number(infoField(before, 'master_repl_offset'));
}

async function bufferRequirements(redis: Redis): Promise<Requirement[]> {
  const limits = (await configValue(redis, 'client-output-buffer-limit')).split(/\s+/);
  const at = limits.findIndex((word) => word === 'slave' || word === 'replica');
  const hard = Number(limits[at + 1]);
  if (at < 0 || hard === 0 || hard >= MIN_REPLICA_BUFFER) return [];
  return [
    {
      setting: 'client-output-buffer-limit replica',
      found: `hard limit ${hard} bytes`,
      needed: `0 or at least ${MIN_REPLICA_BUFFER} bytes: a smaller one drops the capture during a burst of writes`,
      fix: 'CONFIG SET client-output-buffer-limit "replica 256mb 64mb 60", and the same in redis.conf',
    },
  ];
}

async function configValue(redis: Redis, name: string): Promise<string> {
  const reply = (await redis.config('GET', name)) as string[];
  if (reply.length < 2) throw new Error(`CONFIG GET ${name} returned nothing`);
  return reply[1];
}
