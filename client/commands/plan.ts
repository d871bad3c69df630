/** `lazarus plan`: the restore order, layer by layer. */
import type { Command } from 'commander';
import { loadManifest } from '../../config/load-manifest';
import { restoreLayers } from '../../model/graph';
import { action, json, printJson } from '../command-kit';

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
          });
        console.log(`Restore order of ${manifest.app} (${Object.keys(manifest.services).length} services):`);
        layers.forEach((layer, i) => console.log(`  ${i + 1}. ${layer.join(', ')}`));
        for (const [name, service] of Object.entries(manifest.services))
          if (service.unprotected)
            console.log(
              `  not protected: ${name} keeps state in ${service.unprotected.engine}, which Lazarus cannot back up yet`,
            );
      }),
    );
}
