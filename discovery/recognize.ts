/**
 * What keeps state, recognised from a container's image, its ports and its environment.
 * Every engine Lazarus knows is listed, also those it cannot back up yet: those are kept
 * in the manifest as `unprotected`, never dropped.
 */
import { datastoreSpecs } from '../datastores/registry';
import type { DiscoveryHints, EngineHint } from '../datastores/kind';
import type { DatastoreKind, TierName } from '../model/manifest';

export interface Engine extends EngineHint {
  /** The datastore kind that backs the engine up; none: Lazarus cannot back it up yet. */
  kind?: DatastoreKind;
  tier: TierName;
  /** The manifest datastore of a Compose service running the engine (kinds only). */
  fromCompose?: DiscoveryHints['fromCompose'];
}

/** The engines of the registered kinds, from their specs' discovery hints. */
const supported: Engine[] = datastoreSpecs.flatMap(({ kind, discovery }) =>
  (discovery?.engines ?? []).map((hint) => ({
    ...hint,
    kind,
    tier: discovery!.tier,
    fromCompose: discovery!.fromCompose,
  })),
);

// Databases of record are critical; caches, queues and search indexes, which can be rebuilt
// or replayed, are standard.
export const engines: Engine[] = [
  ...supported,
  {
    engine: 'mongodb',
    tier: 'critical',
    images: /(^|\/)(mongo|mongodb[\w-]*)$/,
    ports: [27017],
    env: /^MONGO_INITDB_/,
  },
  {
    engine: 'sqlserver',
    tier: 'critical',
    images: /(^|\/)mssql\/server$/,
    ports: [1433],
    env: /^(MSSQL_SA_PASSWORD|MSSQL_PID|SA_PASSWORD)$/,
  },
  { engine: 'cassandra', tier: 'critical', images: /(^|\/)(cassandra|scylla)$/, ports: [9042] },
  { engine: 'clickhouse', tier: 'critical', images: /(^|\/)clickhouse(-server)?$/, ports: [8123, 9009] },
  { engine: 'elasticsearch', tier: 'standard', images: /(^|\/)(elasticsearch|opensearch)$/, ports: [9200] },
  { engine: 'memcached', tier: 'standard', images: /(^|\/)memcached$/, ports: [11211] },
  {
    engine: 'rabbitmq',
    tier: 'standard',
    images: /(^|\/)rabbitmq$/,
    ports: [5672],
    env: /^RABBITMQ_(DEFAULT_USER|ERLANG_COOKIE|NODENAME)$/,
  },
  { engine: 'kafka', tier: 'standard', images: /(^|\/)(kafka|cp-kafka|cp-server|redpanda)$/, ports: [9092] },
  { engine: 'zookeeper', tier: 'standard', images: /(^|\/)(zookeeper|cp-zookeeper)$/, ports: [2181] },
  { engine: 'nats', tier: 'standard', images: /(^|\/)nats(-streaming)?$/, ports: [4222] },
  { engine: 'minio', tier: 'standard', images: /(^|\/)minio$/, ports: [] },
  { engine: 'etcd', tier: 'critical', images: /(^|\/)etcd$/, ports: [2379] },
  { engine: 'influxdb', tier: 'standard', images: /(^|\/)influxdb$/, ports: [8086] },
  { engine: 'couchdb', tier: 'critical', images: /(^|\/)couchdb$/, ports: [5984] },
  { engine: 'neo4j', tier: 'critical', images: /(^|\/)neo4j$/, ports: [7687] },
];

/** What a source knows of one container: its image, ports and environment. */
export interface ContainerFacts {
  name: string;
  image?: string;
  /** Base images a custom build names in its build args (BASE_IMAGE: clickhouse-server:23.8). */
  baseImages?: string[];
  ports: number[];
  env: Record<string, string>;
}

/** Not recognised, but named like a datastore: flagged rather than taken for stateless. */
export const unknownEngine: Engine = { engine: 'unknown', tier: 'standard', images: /$^/, ports: [] };
const datastoreLikeName = /(^|[-_])(db|database|data|datastore|store|storage)$|db$/;

/**
 * The engine a container runs: by image (or the base image of a custom build) first; then
 * by environment variables only that engine reads; then by a well-known port; then, for a
 * service named like a datastore (user-db), as an unknown engine to be looked at.
 */
export function recognize(facts: ContainerFacts): Engine | undefined {
  const images = [facts.image, ...(facts.baseImages ?? [])].filter((i): i is string => !!i).map(imageName);
  const byImage = engines.find((e) => images.some((i) => e.images.test(i)));
  if (byImage) return byImage;
  const names = Object.keys(facts.env);
  const byEnv = engines.find((e) => e.env && names.some((n) => e.env!.test(n)));
  if (byEnv) return byEnv;
  const byPort = engines.find((e) => e.ports.some((p) => facts.ports.includes(p)));
  if (byPort) return byPort;
  return datastoreLikeName.test(facts.name) ? unknownEngine : undefined;
}

/** "docker.io/library/postgres:16-alpine@sha256:..." -> "library/postgres" without registry, tag or digest. */
export function imageName(image: string): string {
  let name = image.trim().toLowerCase().split('@')[0];
  const lastSlash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > lastSlash) name = name.slice(0, colon);
  const parts = name.split('/');
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0])) parts.shift(); // a registry host
  return parts.join('/');
}
