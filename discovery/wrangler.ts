/**
 * A Cloudflare Worker from its wrangler file (wrangler.toml, wrangler.json or
 * wrangler.jsonc, read by functions/workerd/wrangler-config.ts): one workerd function
 * service, and one d1, kv or r2 service per binding, each keeping its data in the
 * Worker's state directory; the function depends on every one of them.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { readWranglerConfig } from '../functions/workerd/wrangler-config';
import { UserError } from '../model/errors';
import type { DiscoveredService, Discovery } from './discovered';
import { sanitize } from './manifest';
import type { Engine } from './recognize';

export const wranglerFiles = ['wrangler.toml', 'wrangler.json', 'wrangler.jsonc'];

/**
 * `location` is a wrangler file or the directory that holds one; paths in the service
 * are written relative to `manifestDir`, where the manifest will be.
 */
export async function discoverWrangler(location: string, manifestDir: string): Promise<Discovery> {
  const file = wranglerFile(location);
  const config = await readWranglerConfig(file);
  const source = `wrangler ${file}`;
  const worker = config.name;
  // The state directory the workerd platform defaults to, written out: the bindings' services name it too.
  const state = `.lazarus/workerd/${sanitize(worker)}`;
  const binding = (engine: string, name: string, datastore: Record<string, unknown>): DiscoveredService => ({
    name: `${worker}-${name}`,
    source,
    engine: bindingEngine(engine),
    dependsOn: [],
    references: [],
    datastore: { ...datastore, path: state },
  });
  const bindings = [
    ...config.d1_databases.map((d) =>
      binding('d1', d.database_name ?? d.binding, { kind: 'd1', database_id: d.database_id }),
    ),
    ...config.kv_namespaces.map((kv) => binding('kv', kv.binding, { kind: 'kv', namespace_id: kv.id })),
    ...config.r2_buckets.map((r2) => binding('r2', r2.bucket_name, { kind: 'r2', bucket: r2.bucket_name })),
  ];
  const wrangler = path.relative(manifestDir, path.resolve(file)) || path.basename(file);
  const fn: DiscoveredService = {
    name: worker,
    source,
    dependsOn: bindings.map((b) => b.name).sort(),
    references: [],
    function: { platform: 'workerd', wrangler, state },
  };
  return { app: worker, services: [fn, ...bindings], notes: [] };
}

/** The file itself, or the wrangler file inside a directory. */
function wranglerFile(location: string): string {
  if (!existsSync(location) || !statSync(location).isDirectory()) return location; // the reader names a missing file
  const found = wranglerFiles.map((f) => path.join(location, f)).find((f) => existsSync(f));
  if (!found) throw new UserError(`${location}: no ${wranglerFiles.join(', ')} in this directory`);
  return found;
}

/** Bindings hold the Worker's records: restored first, on the critical tier. */
function bindingEngine(engine: string): Engine {
  return { engine, tier: 'critical', images: /$^/, ports: [] };
}
