/**
 * Datastores on running servers: the databases of a PostgreSQL or MariaDB server, the
 * keyspaces (numbered databases holding keys) of a Redis server. Each becomes a service
 * whose datastore entry reaches it as the URL did.
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

const engine = (name: string) => engines.find((e) => e.engine === name)!;

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
  const source = `${engineName} ${target.host}:${target.port}`;
  const services = names.map((name): DiscoveredService => ({
    name: engineName === 'redis' ? `redis-${name}` : name,
    source,
    engine: engine(engineName),
    dependsOn: [],
    references: [],
    datastore: datastore(name),
  }));
  return { services, notes: names.length === 0 ? [`${source}: no databases found`] : [] };
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
