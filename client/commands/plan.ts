/** `lazarus plan`: the restore order, layer by layer. */
import type { Command } from 'commander';
import { loadManifest } from '../../config/load-manifest';
import { restoreLayers } from '../../model/graph';
import { describeCache } from '../../datastores/caches/spec';
import type { Manifest } from '../../model/manifest';
import { action, json, printJson } from '../command-kit';

/** The manifest's caches, with the stores each one is flushed after. */
function cachesOf(manifest: Manifest) {
  return Object.entries(manifest.services).flatMap(([name, service]) =>
    service.cache
      ? [
          {
            name,
            cache: service.cache,
            fronts: service.depends_on.filter((d) => manifest.services[d].datastore),
          },
        ]
      : [],
  );
}

export function register(program: Command): void {
  program
    .command('plan <manifest>')
    .description('print the restore order as layers: the services of a layer can run in parallel')
    .addOption(json())
    .action(
      action((file: string, opts) => {
        const manifest = loadManifest(file);
        const layers = restoreLayers(manifest.services);
        if (opts.json)
          return printJson({
            app: manifest.app,
            services: Object.keys(manifest.services).length,
            layers,
            unprotected: Object.keys(manifest.services).filter((s) => manifest.services[s].unprotected),
            caches: Object.fromEntries(
              cachesOf(manifest).map(({ name, cache, fronts }) => [name, { engine: cache.engine, fronts }]),
            ),
          });
        console.log(`Restore order of ${manifest.app} (${Object.keys(manifest.services).length} services):`);
        layers.forEach((layer, i) => console.log(`  ${i + 1}. ${layer.join(', ')}`));
        for (const [name, service] of Object.entries(manifest.services))
          if (service.unprotected)
            console.log(
              `  not protected: ${name} keeps state in ${service.unprotected.engine}, which Lazarus cannot back up yet`,
            );
        for (const { name, cache, fronts } of cachesOf(manifest))
          console.log(
            `  cache: ${name} (${describeCache(cache)}) holds nothing to back up; flushed after ${fronts.join(', ')} is restored`,
          );
      }),
    );
}
