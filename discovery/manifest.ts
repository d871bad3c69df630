/**
 * A manifest from what discovery found: one service per container, database or function, its
 * datastore when Lazarus can back it up, `unprotected` with the engine when it cannot,
 * dependencies from what the sources declare and from connection references, and each
 * datastore's default tier. Drift compares it with a manifest already in use.
 */
import { storeIdentity } from '../datastores/registry';
import { type CacheEngine, cacheFromCompose, redisRunsAsCache } from '../datastores/caches/spec';
import { findCycle } from '../model/graph';
import type { Manifest } from '../model/manifest';
import type { DiscoveredService, Discovery } from './discovered';

export interface ManifestService {
  description: string;
  tier: string;
  depends_on: string[];
  datastore?: Record<string, unknown>;
  cache?: Record<string, unknown>;
  function?: Record<string, unknown>;
  unprotected?: { engine: string; reason: string };
}
export interface DiscoveredManifest {
  app: string;
  services: Record<string, ManifestService>;
}

export function buildManifest(
  discoveries: Discovery[],
  app?: string,
): { manifest: DiscoveredManifest; notes: string[] } {
  const notes = discoveries.flatMap((d) => d.notes);
  const found = discoveries.flatMap((d) => d.services);
  const names = manifestNames(found);
  const services: Record<string, ManifestService> = {};
  for (const service of found) {
    const name = names.get(service)!;
    services[name] = manifestService(service);
  }
  notes.push(...addDependencies(found, names, services));
  notes.push(...pairCaches(services));
  const appName = sanitize(app ?? discoveries.find((d) => d.app)?.app ?? 'app');
  return { manifest: { app: appName, services }, notes };
}

/** One discovered service in the manifest: a function, a datastore, a cache, unprotected state, or stateless. */
function manifestService(service: DiscoveredService): ManifestService {
  const engine = service.engine;
  const description = [service.source, service.image, engine && `(${engine.engine})`]
    .filter(Boolean)
    .join(' ');
  const base = { description, tier: engine?.tier ?? 'standard', depends_on: [] as string[] };
  if (service.function)
    return {
      ...base,
      description: `${description} (${String(service.function.platform)} function)`,
      function: service.function,
    };
  const cache = cacheEngineOf(service);
  if (cache)
    return { ...base, description: `${description} cache`, cache: cacheFromCompose(cache, service.name) };
  if (service.datastore) return { ...base, datastore: service.datastore };
  if (!engine) return base;
  return {
    ...base,
    unprotected: {
      engine: engine.engine,
      reason:
        engine.engine === 'unknown'
          ? 'named like a datastore, but its engine was not recognised'
          : `Lazarus cannot back up ${engine.engine} yet`,
    },
  };
}

/** memcached always; Redis when it runs as a cache (evicting, keeping nothing on disk, or named so). */
function cacheEngineOf(service: DiscoveredService): CacheEngine | undefined {
  if (service.engine?.cache) return service.engine.cache;
  if (service.engine?.kind === 'redis' && redisRunsAsCache(service.name, service.command ?? ''))
    return 'redis';
  return undefined;
}

/**
 * What each cache fronts, as its depends_on: the store named like it (memcached-profile
 * fronts mongodb-profile), else the stores of the services that use it.
 */
function pairCaches(services: Record<string, ManifestService>): string[] {
  const notes: string[] = [];
  // Caches front databases of record (critical), not queues or other caches.
  const stores = Object.keys(services).filter(
    (s) => (services[s].datastore || services[s].unprotected) && services[s].tier === 'critical',
  );
  for (const [cache, service] of Object.entries(services)) {
    if (!service.cache) continue;
    const stem = stemOf(cache);
    const named = stores.filter((s) => stem !== '' && stemOf(s) === stem);
    const users = Object.keys(services).filter((s) => services[s].depends_on.includes(cache));
    const used = stores.filter((s) => users.some((u) => services[u].depends_on.includes(s)));
    const fronted = named.length > 0 ? named : used;
    service.depends_on = [...new Set([...service.depends_on, ...fronted])].sort();
    if (findCycle(services)) {
      service.depends_on = service.depends_on.filter((d) => !fronted.includes(d));
      notes.push(`${cache}: the stores it fronts depend on it; list what it fronts under depends_on by hand`);
    } else if (fronted.length === 0)
      notes.push(`${cache}: a cache whose stores were not found; list what it fronts under depends_on`);
  }
  return notes;
}

/** A name without its engine words: memcached-profile and mongodb-profile are both "profile". */
function stemOf(name: string): string {
  return name
    .split(/[-_]+/)
    .filter(
      (token) =>
        !/^(memcached|memcache|redis|cache|mongo|mongodb|mysql|mariadb|postgres|postgresql|db|pg)$/.test(
          token,
        ),
    )
    .join('-');
}

/**
 * Declared dependencies first, then those from connection references; a reference that
 * would close a cycle is dropped (and noted), since a restore order must exist.
 */
function addDependencies(
  found: DiscoveredService[],
  names: Map<DiscoveredService, string>,
  services: Record<string, ManifestService>,
): string[] {
  const notes: string[] = [];
  const bySourceName = (source: string, name: string) =>
    found.find((s) => s.source === source && s.name === name) ?? found.find((s) => s.name === name);
  const add = (from: DiscoveredService, to: string, declared: boolean) => {
    const target = bySourceName(from.source, to);
    if (!target) return;
    const edges = services[names.get(from)!].depends_on;
    const targetName = names.get(target)!;
    if (edges.includes(targetName)) return;
    edges.push(targetName);
    if (!declared && findCycle(services)) {
      edges.pop();
      notes.push(
        `${names.get(from)} refers to ${targetName}, which already depends on it: that reference is left out`,
      );
    }
  };
  for (const service of found) service.dependsOn.forEach((d) => add(service, d, true));
  for (const service of found) service.references.forEach((d) => add(service, d, false));
  for (const service of Object.values(services)) service.depends_on.sort();
  return notes;
}

/** Manifest names: lowercase letters, digits, - and _; a clash between sources gets a suffix. */
function manifestNames(found: DiscoveredService[]): Map<DiscoveredService, string> {
  const names = new Map<DiscoveredService, string>();
  const taken = new Set<string>();
  for (const service of found) {
    const base = sanitize(service.name);
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base.slice(0, 60)}-${n}`;
    taken.add(name);
    names.set(service, name);
  }
  return names;
}

export function sanitize(name: string): string {
  const clean = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  return clean || 'service';
}

export interface Drift {
  /** Runs, holds state, but the manifest does not protect it. */
  unprotected: { service: string; engine: string; source: string }[];
  /** Protected by the manifest, but no longer found. */
  gone: { service: string; kind: string }[];
}

/** What runs but is unprotected, and what the manifest protects but is gone. */
export function driftAgainst(discovered: DiscoveredManifest, manifest: Manifest): Drift {
  const protectedNames = new Set(
    Object.keys(manifest.services).filter((s) => manifest.services[s].datastore),
  );
  const protectedStores = new Set(
    Object.values(manifest.services).flatMap((s) => (s.datastore ? [storeIdentity(s.datastore)] : [])),
  );
  const drift: Drift = { unprotected: [], gone: [] };
  const seenNames = new Set<string>();
  const seenStores = new Set<string>();
  for (const [name, service] of Object.entries(discovered.services)) {
    if (!service.datastore && !service.unprotected) continue;
    seenNames.add(name);
    if (service.datastore) seenStores.add(storeIdentity(service.datastore));
    const covered =
      protectedNames.has(name) ||
      (service.datastore && protectedStores.has(storeIdentity(service.datastore)));
    if (!covered)
      drift.unprotected.push({
        service: name,
        engine: service.unprotected?.engine ?? String(service.datastore?.kind),
        source: service.description,
      });
  }
  for (const [name, service] of Object.entries(manifest.services)) {
    if (!service.datastore || seenNames.has(name) || seenStores.has(storeIdentity(service.datastore)))
      continue;
    drift.gone.push({ service: name, kind: service.datastore.kind });
  }
  return drift;
}
