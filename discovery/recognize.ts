/**
 * What keeps state, recognised from a container's image, its ports and its environment.
 * Every engine Lazarus knows is listed, also those it cannot back up yet: those are kept
 * in the manifest as `unprotected`, never dropped.
 */
import { type CacheEngine, cacheEngines } from '../datastores/caches/spec';
import { datastoreSpecs } from '../datastores/registry';
import type { DiscoveryHints, EngineHint } from '../datastores/kind';
import type { DatastoreKind, TierName } from '../model/manifest';

export interface Engine extends EngineHint {
  /** The datastore kind that backs the engine up; none: Lazarus cannot back it up yet. */
  kind?: DatastoreKind;
  tier: TierName;
  /** The manifest datastore of a Compose service running the engine (kinds only). */
  fromCompose?: DiscoveryHints['fromCompose'];
  /** A cache engine: nothing to back up, flushed after the stores it fronts are restored. */
  cache?: CacheEngine;
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
    engine: 'sqlserver',
    tier: 'critical',
    images: /(^|\/)mssql\/server$/,
    ports: [1433],
    env: /^(MSSQL_SA_PASSWORD|MSSQL_PID|SA_PASSWORD)$/,
  },
  { engine: 'cassandra', tier: 'critical', images: /(^|\/)(cassandra|scylla)$/, ports: [9042] },
  { engine: 'clickhouse', tier: 'critical', images: /(^|\/)clickhouse(-server)?$/, ports: [8123, 9009] },
  { engine: 'elasticsearch', tier: 'standard', images: /(^|\/)(elasticsearch|opensearch)$/, ports: [9200] },
  ...cacheEngines.map((hint) => ({ ...hint, tier: 'standard', cache: hint.engine })),
  { engine: 'kafka', tier: 'standard', images: /(^|\/)(kafka|cp-kafka|cp-server|redpanda)$/, ports: [9092] },
  { engine: 'zookeeper', tier: 'standard', images: /(^|\/)(zookeeper|cp-zookeeper)$/, ports: [2181] },
  { engine: 'etcd', tier: 'critical', images: /(^|\/)etcd$/, ports: [2379] },
  { engine: 'influxdb', tier: 'standard', images: /(^|\/)influxdb$/, ports: [8086] },
  { engine: 'couchdb', tier: 'critical', images: /(^|\/)couchdb$/, ports: [5984] },
  { engine: 'neo4j', tier: 'critical', images: /(^|\/)neo4j$/, ports: [7687] },
];

/** What a source knows of one container: its image, name, build, ports and environment. */
export interface ContainerFacts {
  name: string;
  image?: string;
  /** Base images a custom build names in its build args (BASE_IMAGE: clickhouse-server:23.8). */
  baseImages?: string[];
  /** The directory a custom image is built from (`build: ./mongo`). */
  buildContext?: string;
  ports: number[];
  env: Record<string, string>;
  /** The ports other containers reach it on (`MONGO_HOST=user-db:27017`). */
  reachedOn?: number[];
  /** The engines other containers reach it as, by URL scheme (`mongodb://user-db`). */
  reachedAs?: string[];
}

/** Not recognised, but named like a datastore: flagged rather than taken for stateless. */
export const unknownEngine: Engine = { engine: 'unknown', tier: 'standard', images: /$^/, ports: [] };
const datastoreLikeName = /(^|[-_])(db|database|data|datastore|store|storage)$|db$/;

/**
 * How much each trait says that a container runs an engine. A name is strong evidence
 * (a service called `mongodb`, built from `./mongo`, or an image `rs-mongodb`); a variable
 * or a port alone is not, since clients set MYSQL_ROOT_PASSWORD and dial 27017 too.
 */
const WEIGHT = { named: 2, env: 1, port: 1, reached: 1, datastoreLikeName: 1 };
const SERVER = 2;

/**
 * The engine a container runs: by image (or the base image of a custom build) first; then
 * by the weight of its other traits (its name, build context and custom image's name, the
 * variables only that engine reads, its port, how others reach it), where one variable or
 * one port alone makes a client, not a server; then, for a service named like a datastore
 * (user-db), an unknown engine to be looked at.
 */
export function recognize(facts: ContainerFacts): Engine | undefined {
  const images = [facts.image, ...(facts.baseImages ?? [])].filter((i): i is string => !!i).map(imageName);
  const byImage = engines.find((e) => images.some((i) => e.images.test(i)));
  if (byImage) return byImage;
  const scored = engines
    .map((engine) => ({ engine, score: traitScore(engine, facts) }))
    .filter(({ score }) => score > 0);
  const best = scored.reduce<(typeof scored)[number] | undefined>(
    (top, next) => (!top || next.score > top.score ? next : top),
    undefined,
  );
  if (best) {
    const score = best.score + (datastoreLikeName.test(facts.name) ? WEIGHT.datastoreLikeName : 0);
    if (score >= SERVER) return best.engine;
  }
  return datastoreLikeName.test(facts.name) ? unknownEngine : undefined;
}

function traitScore(engine: Engine, facts: ContainerFacts): number {
  const named = [
    facts.name,
    facts.buildContext && lastSegment(facts.buildContext),
    facts.image && lastSegment(imageName(facts.image)),
  ]
    .filter((n): n is string => !!n)
    .some((n) => nameTokens(n).some((token) => engine.images.test(token)));
  const envNames = Object.keys(facts.env);
  const env = engine.env !== undefined && envNames.some((n) => engine.env!.test(n));
  const port = engine.ports.some((p) => facts.ports.includes(p));
  const reached =
    engine.ports.some((p) => facts.reachedOn?.includes(p)) || (facts.reachedAs ?? []).includes(engine.engine);
  return (
    (named ? WEIGHT.named : 0) +
    (env ? WEIGHT.env : 0) +
    (port ? WEIGHT.port : 0) +
    (reached ? WEIGHT.reached : 0)
  );
}

/** `auth-mongodb` -> auth, mongodb; `rs-mysql-db` -> rs, mysql, db. */
function nameTokens(name: string): string[] {
  return name
    .toLowerCase()
    .split(/[-_.]+/)
    .filter(Boolean);
}

function lastSegment(path: string): string {
  return path.replace(/\/+$/, '').split('/').at(-1) ?? path;
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
