/**
 * What every discovery source (Compose, Kubernetes, live servers, function configuration
 * files) reports, and how one service's environment points at another:
 * `postgres://orders-db:5432/app`, `REDIS_ADDR=redis-cart:6379`, `CLICKHOUSE_HOST=clickhouse`.
 */
import type { Engine } from './recognize';

export interface DiscoveredService {
  /** The name in its source (a Compose service, a Deployment, a database). */
  name: string;
  /** Where it was found: "compose docker-compose.yml", "kubernetes app.yaml", "postgres 127.0.0.1:5432". */
  source: string;
  image?: string;
  engine?: Engine;
  /** Dependencies the source declares (depends_on, links). */
  dependsOn: string[];
  /** Names of other services that its environment refers to. */
  references: string[];
  /** A datastore entry ready for the manifest, when the source knows how to reach it. */
  datastore?: Record<string, unknown>;
  /** A serverless function entry ready for the manifest (`function:`): the service is the function. */
  function?: Record<string, unknown>;
  /** The command the container runs with, when the source says (a cache is told by it). */
  command?: string;
}

export interface Discovery {
  app?: string;
  services: DiscoveredService[];
  /** What a person should know: services left out by profile, edges dropped, variables unset. */
  notes: string[];
}

const url = /[a-z][a-z0-9+.-]*:\/\/(?:[^@/\s]*@)?([a-z0-9_.-]+)/gi;
const hostPort = /(?:^|[\s,;=@"'(])([a-z0-9_.-]+):(\d{2,5})\b/gi;
const bareHost = /^[a-z0-9_.-]+$/i;

/**
 * The services that `values` name, given each service's host names (`hosts`: host ->
 * service). A Kubernetes name such as `redis.shop.svc.cluster.local` counts by its first label.
 */
export function referencedServices(values: string[], hosts: Map<string, string>, self: string): string[] {
  const found = new Set<string>();
  const consider = (host: string) => {
    const key = host.toLowerCase();
    const service = hosts.get(key) ?? (key.includes('.') ? hosts.get(key.split('.')[0]) : undefined);
    if (service && service !== self) found.add(service);
  };
  for (const value of values) {
    for (const match of value.matchAll(url)) consider(match[1]);
    for (const match of value.matchAll(hostPort)) consider(match[1]);
    if (bareHost.test(value.trim())) consider(value.trim());
  }
  return [...found].sort();
}

const schemeEngines: Record<string, string> = {
  mongodb: 'mongodb',
  'mongodb+srv': 'mongodb',
  postgres: 'postgres',
  postgresql: 'postgres',
  mysql: 'mariadb',
  mariadb: 'mariadb',
  redis: 'redis',
  rediss: 'redis',
  amqp: 'rabbitmq',
  amqps: 'rabbitmq',
  nats: 'nats',
  memcached: 'memcached',
};

/** How clients reach a service: the ports they dial it on and the engines their URLs name. */
export interface Reach {
  ports: number[];
  engines: string[];
}

/**
 * What `values` (every client's environment) say of how each service is reached:
 * `MONGO_HOST=user-db:27017` reaches user-db on 27017, `mongodb://user-db/app` as MongoDB.
 */
export function reachOf(values: string[], hosts: Map<string, string>): Map<string, Reach> {
  const reach = new Map<string, Reach>();
  const entry = (host: string) => {
    const key = host.toLowerCase();
    const service = hosts.get(key) ?? (key.includes('.') ? hosts.get(key.split('.')[0]) : undefined);
    if (!service) return undefined;
    if (!reach.has(service)) reach.set(service, { ports: [], engines: [] });
    return reach.get(service)!;
  };
  for (const value of values) {
    for (const match of value.matchAll(/([a-z][a-z0-9+.-]*):\/\/(?:[^@/\s]*@)?([a-z0-9_.-]+)/gi)) {
      const engine = schemeEngines[match[1].toLowerCase()];
      if (engine) entry(match[2])?.engines.push(engine);
    }
    for (const match of value.matchAll(hostPort)) entry(match[1])?.ports.push(Number(match[2]));
  }
  return reach;
}
