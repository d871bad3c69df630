/**
 * Datastores on running servers: the databases of a PostgreSQL, MariaDB or MongoDB
 * server, the keyspaces (numbered databases holding keys) of a Redis server, the vhosts
 * of a RabbitMQ broker, the streams of a NATS server. Each becomes a service whose
 * datastore entry reaches it as the URL did. `liveSources` lists them, one per flag of
 * `lazarus discover`.
 */
import pg from 'pg';
import mysql from 'mysql2/promise';
import Redis from 'ioredis';
import { UserError } from '../model/errors';
import type { DiscoveredService, Discovery } from './discovered';
import { mariadbDefaults } from '../datastores/mariadb/spec';
import { postgresDefaults } from '../datastores/postgres/spec';
import { redisDefaults } from '../datastores/redis/spec';
import { engines } from './recognize';
import { listMongoStores } from '../datastores/mongodb/live';
import { listNatsStores } from '../datastores/nats/live';
import { listRabbitmqStores } from '../datastores/rabbitmq/live';
import { listS3Stores } from '../datastores/s3/live';

export interface LiveSource {
  /** The `lazarus discover` flag: --postgres, --mongodb... */
  flag: string;
  /** What one URL yields, for --help. */
  description: string;
  discover(url: string): Promise<Discovery>;
}

/** A store lister of a kind's own (datastores/<kind>/live.ts) as a discovery source. */
function listed(
  engineName: string,
  list: (url: string) => Promise<{ name: string; datastore: Record<string, unknown> }[]>,
) {
  return async (url: string): Promise<Discovery> => {
    const stores = await list(url);
    const where = new URL(url);
    const source = `${engineName} ${where.hostname}:${where.port || 'default port'}`;
    return asDiscovery(source, engineName, stores, 'nothing found to back up');
  };
}

/** Stores found on one server, each a service with its datastore filled in. */
function asDiscovery(
  source: string,
  engineName: string,
  stores: { name: string; datastore: Record<string, unknown> }[],
  emptyNote: string,
): Discovery {
  const services = stores.map(({ name, datastore }): DiscoveredService => ({
    name,
    source,
    engine: engine(engineName),
    dependsOn: [],
    references: [],
    datastore,
  }));
  return { services, notes: services.length === 0 ? [`${source}: ${emptyNote}`] : [] };
}

export const liveSources: LiveSource[] = [
  {
    flag: 'postgres',
    description: 'a PostgreSQL server: each database becomes a service',
    discover: (url) => discoverPostgres(url),
  },
  {
    flag: 'mariadb',
    description: 'a MariaDB/MySQL server: each database becomes a service',
    discover: (url) => discoverMariadb(url),
  },
  {
    flag: 'redis',
    description: 'a Redis server: each keyspace (db0, db1...) becomes a service',
    discover: (url) => discoverRedis(url),
  },
  {
    flag: 'mongodb',
    description: 'a MongoDB server (mongodb://user:password@host:27017): each database becomes a service',
    discover: listed('mongodb', listMongoStores),
  },
  {
    flag: 'rabbitmq',
    description: 'a RabbitMQ broker (amqp://user:password@host:5672): each vhost becomes a service',
    discover: listed('rabbitmq', listRabbitmqStores),
  },
  {
    flag: 'nats',
    description: 'a NATS server (nats://host:4222): each JetStream stream, KV bucket and object store',
    discover: listed('nats', listNatsStores),
  },
  {
    flag: 's3',
    description:
      'an S3-compatible server (http://KEY:SECRET@host:9000, or AWS): each bucket becomes a service',
    discover: listed('s3', listS3Stores),
  },
];

// An engine discovery knows by name (none for s3: its hints name minio and versitygw).
const engine = (name: string) => engines.find((e) => e.engine === name);

export async function discoverPostgres(url: string): Promise<Discovery> {
  const target = parseUrl(url, '--postgres', postgresDefaults.port);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  const rows = await reach(url, async () => {
    await client.connect();
    try {
      const result = await client.query<{ datname: string }>(
        "SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn AND datname <> 'postgres' ORDER BY datname",
      );
      return result.rows.map((r) => r.datname);
    } finally {
      await client.end();
    }
  });
  return serverDiscovery(rows, target, 'postgres', databaseStore('postgres', target, postgresDefaults.user));
}

const mariadbSystemSchemas = new Set(['information_schema', 'mysql', 'performance_schema', 'sys']);

export async function discoverMariadb(url: string): Promise<Discovery> {
  const target = parseUrl(url, '--mariadb', mariadbDefaults.port);
  const rows = await reach(url, async () => {
    const connection = await mysql.createConnection({ uri: url, connectTimeout: 5000 });
    try {
      const [result] = await connection.query('SHOW DATABASES');
      return (result as { Database: string }[])
        .map((r) => r.Database)
        .filter((d) => !mariadbSystemSchemas.has(d));
    } finally {
      await connection.end();
    }
  });
  return serverDiscovery(rows, target, 'mariadb', databaseStore('mariadb', target, mariadbDefaults.user));
}

export async function discoverRedis(url: string): Promise<Discovery> {
  const target = parseUrl(url, '--redis', redisDefaults.port);
  const keyspaces = await reach(url, async () => {
    const client = new Redis(url, {
      lazyConnect: true,
      connectTimeout: 5000,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    client.on('error', () => {}); // a failed connect() rejects; the event would only print it again
    await client.connect();
    try {
      // "db0:keys=12,expires=0,avg_ttl=0"
      return [...(await client.info('keyspace')).matchAll(/^db(\d+):keys=(\d+)/gm)].map((m) => Number(m[1]));
    } finally {
      client.disconnect();
    }
  });
  return serverDiscovery(
    keyspaces.map((db) => `db${db}`),
    target,
    'redis',
    (name) => ({ kind: 'redis', host: target.host, port: target.port, db: Number(name.slice(2)) }),
  );
}

function serverDiscovery(
  names: string[],
  target: { host: string; port: number },
  engineName: string,
  datastore: (name: string) => Record<string, unknown>,
): Discovery {
  const stores = names.map((name) => ({
    name: engineName === 'redis' ? `redis-${name}` : name,
    datastore: datastore(name),
  }));
  return asDiscovery(`${engineName} ${target.host}:${target.port}`, engineName, stores, 'no databases found');
}

/** The manifest entry of one database on a server reached as the URL did. */
function databaseStore(kind: string, target: ReturnType<typeof parseUrl>, defaultUser: string) {
  return (database: string) => ({
    kind,
    host: target.host,
    port: target.port,
    user: target.user ?? defaultUser,
    database,
  });
}

function parseUrl(url: string, flag: string, defaultPort: number) {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserError(
      `${flag} ${url}: write a URL such as ${flag.slice(2)}://user@127.0.0.1:${defaultPort}`,
    );
  }
  return {
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : defaultPort,
    user: parsed.username ? decodeURIComponent(parsed.username) : undefined,
  };
}

async function reach<T>(url: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const safe = url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
    throw new UserError(`cannot list the databases at ${safe}: ${(err as Error).message}`);
  }
}
