/**
 * `lazarus discover`: a manifest from Compose files, Kubernetes manifests, live servers and
 * serverless function configurations (wrangler, Serverless Framework, SAM); drift against one in use.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { stringify } from 'yaml';
import { UserError } from '../../model/errors';
import { loadManifest } from '../../config/load-manifest';
import { discoverCompose } from '../../discovery/compose';
import type { Discovery } from '../../discovery/discovered';
import { discoverKubernetes } from '../../discovery/kubernetes';
import { liveSources } from '../../discovery/live';
import { discoverSam } from '../../discovery/sam';
import { discoverServerless } from '../../discovery/serverless';
import { discoverWrangler } from '../../discovery/wrangler';
import { type DiscoveredManifest, type Drift, buildManifest, driftAgainst } from '../../discovery/manifest';
import { EXIT, action, json, printJson } from '../command-kit';

type Sources = 'compose' | 'profile' | 'k8s' | 'wrangler' | 'serverless' | 'sam';

interface DiscoverOptions {
  compose?: string[];
  profile?: string[];
  allProfiles?: boolean;
  k8s?: string[];
  wrangler?: string[];
  serverless?: string[];
  stage?: string;
  sam?: string[];
  /** The URLs given to each live source's flag (--postgres, --mongodb...). */
  [live: string]: unknown;
  app?: string;
  output?: string;
  force?: boolean;
  against?: string;
  json?: boolean;
}

/** A repeatable option: each use adds a value. */
const repeatable = (flags: string, description: string) =>
  new Option(flags, description).argParser((value: string, previous: string[] = []) => [...previous, value]);

export function register(program: Command): void {
  const command = program
    .command('discover')
    .description(
      'write a manifest from what runs: Compose files, Kubernetes manifests, live PostgreSQL, MariaDB, Redis, MongoDB, RabbitMQ and NATS servers',
    )
    .addOption(repeatable('--compose <file>', 'a Docker Compose file (repeatable)'))
    .addOption(
      repeatable(
        '--profile <name>',
        'a Compose profile to treat as active (repeatable; default $COMPOSE_PROFILES)',
      ),
    )
    .option('--all-profiles', 'include Compose services of every profile')
    .addOption(
      repeatable(
        '--k8s <path>',
        'a Kubernetes manifest file, a directory of them, or - for rendered ones on stdin (repeatable)',
      ),
    )
    .addOption(
      repeatable(
        '--wrangler <path>',
        "a Worker's wrangler.toml or wrangler.json(c), or its directory: the Worker and its D1, KV and R2 bindings (repeatable)",
      ),
    )
    .addOption(
      repeatable(
        '--serverless <file>',
        'a Serverless Framework file (serverless.yml, provider aws): its functions and their buckets, tables and queues (repeatable)',
      ),
    )
    .option(
      '--stage <name>',
      'with --serverless: the stage, as given to the framework (default: provider.stage, else dev)',
    )
    .addOption(
      repeatable(
        '--sam <file>',
        'an AWS SAM template (template.yaml): its functions and their buckets, tables and queues (repeatable)',
      ),
    )
    .option('--app <name>', 'the application name (default: the Compose project or directory name)')
    .option('-o, --output <file>', 'write the manifest to this file instead of stdout')
    .option('--force', 'with --output: replace an existing file')
    .option(
      '--against <manifest>',
      'instead of a manifest, list the drift: what runs unprotected, what is protected but gone',
    )
    .addOption(json())
    .addHelpText('after', '\nExit codes: 0 done (with --against: no drift), 1 drift found, 2 bad input.')
    .action(
      action(async (opts: DiscoverOptions) =>
        runDiscover({
          ...opts,
          compose: opts.compose ?? [],
          profile: opts.profile ?? [],
          k8s: opts.k8s ?? [],
          wrangler: opts.wrangler ?? [],
          serverless: opts.serverless ?? [],
          sam: opts.sam ?? [],
        }),
      ),
    );
  for (const source of liveSources)
    command.addOption(repeatable(`--${source.flag} <url>`, `${source.description} (repeatable)`));
}

/** The URLs given to a live source's flag. */
const urlsOf = (opts: DiscoverOptions, flag: string) => (opts[flag] as string[] | undefined) ?? [];

async function runDiscover(opts: Required<Pick<DiscoverOptions, Sources>> & DiscoverOptions): Promise<void> {
  const live = liveSources.flatMap((source) => urlsOf(opts, source.flag).map((url) => ({ source, url })));
  const files = [opts.compose, opts.k8s, opts.wrangler, opts.serverless, opts.sam];
  if (files.reduce((n, f) => n + f.length, 0) + live.length === 0)
    throw new UserError(
      `name at least one source: --compose, --k8s, --wrangler, --serverless, --sam, ${liveSources.map((s) => `--${s.flag}`).join(', ')}`,
    );
  if (opts.output && existsSync(opts.output) && !opts.force)
    throw new UserError(`${opts.output} exists: pass --force to replace it, or choose another --output`);
  const existing = opts.against ? loadManifest(opts.against) : undefined; // a bad manifest fails before any server is asked

  const discoveries: Discovery[] = [
    ...opts.compose.map((file) =>
      discoverCompose(file, {
        profiles: opts.profile.length ? opts.profile : undefined,
        allProfiles: opts.allProfiles,
      }),
    ),
    ...opts.k8s.map((location) => discoverKubernetes(location)),
    ...opts.serverless.map((file) => discoverServerless(file, { stage: opts.stage })),
    ...opts.sam.map((file) => discoverSam(file)),
    // A Worker's wrangler path is written relative to where the manifest goes.
    ...(await Promise.all(
      opts.wrangler.map((location) =>
        discoverWrangler(location, opts.output ? path.dirname(path.resolve(opts.output)) : process.cwd()),
      ),
    )),
    ...(await Promise.all(live.map(({ source, url }) => source.discover(url)))),
  ];
  const { manifest, notes } = buildManifest(discoveries, opts.app ?? existing?.app);

  if (existing) {
    const drift = driftAgainst(manifest, existing);
    if (opts.json) printJson(drift);
    else printDrift(drift, opts.against!);
    if (drift.unprotected.length + drift.gone.length > 0) process.exitCode = EXIT.runFailed;
    return;
  }
  const text = opts.json
    ? JSON.stringify(manifest, null, 2) + '\n'
    : header(manifest, notes) + stringify(manifest);
  if (opts.output) writeFileSync(opts.output, text);
  else process.stdout.write(text);
  printSummary(manifest, notes, opts.output);
}

function header(manifest: DiscoveredManifest, notes: string[]): string {
  const lines = [
    `# Written by lazarus discover. Check each datastore's host, user and password reference,`,
    `# then run: lazarus plan <this file>`,
    ...unprotectedOf(manifest).map(
      ([name, engine]) => `# NOT PROTECTED: ${name} (${engine}): Lazarus cannot back it up yet`,
    ),
    ...Object.entries(manifest.services).flatMap(([name, s]) =>
      s.cache ? [`# cache: ${name} holds nothing to back up; flushed after ${s.depends_on.join(', ')}`] : [],
    ),
    ...notes.map((n) => `# note: ${n}`),
  ];
  return lines.join('\n') + '\n';
}

function unprotectedOf(manifest: DiscoveredManifest): [string, string][] {
  return Object.entries(manifest.services).flatMap(([name, s]) =>
    s.unprotected ? [[name, s.unprotected.engine]] : [],
  );
}

/** On stderr, so that stdout stays the manifest. */
function printSummary(manifest: DiscoveredManifest, notes: string[], output?: string): void {
  const services = Object.values(manifest.services);
  const stores = services.filter((s) => s.datastore).length;
  const flagged = unprotectedOf(manifest);
  const caches = Object.entries(manifest.services).filter(([, s]) => s.cache);
  const functions = services.filter((s) => s.function).length;
  console.error(
    `discovered ${services.length} services of ${manifest.app}: ${stores} datastores Lazarus backs up, ` +
      (functions ? `${functions} functions, ` : '') +
      `${caches.length} caches (nothing to back up; flushed after the stores they front are restored), ` +
      `${flagged.length} it cannot yet${flagged.length ? ` (${flagged.map(([n, e]) => `${n}: ${e}`).join(', ')})` : ''}` +
      (output ? `; written to ${output}` : ''),
  );
  for (const note of notes) console.error(`  note: ${note}`);
}

function printDrift(drift: Drift, against: string): void {
  if (drift.unprotected.length + drift.gone.length === 0)
    return console.log(`no drift: ${against} protects every datastore found`);
  if (drift.unprotected.length > 0) {
    console.log(`Running but not protected by ${against}:`);
    for (const u of drift.unprotected) console.log(`  + ${u.service} (${u.engine}) from ${u.source}`);
  }
  if (drift.gone.length > 0) {
    console.log(`Protected by ${against} but not found:`);
    for (const g of drift.gone) console.log(`  - ${g.service} (${g.kind})`);
  }
}
