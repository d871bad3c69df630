/**
 * A Worker read from its wrangler project on disk (not from the host): what `lazarus
 * functions deploy` and the demo make live. The bundle holds the main module and every
 * module it imports by relative path, as workerd loads them, without a bundler: a bare
 * package import (`import x from "lodash"`) needs bundling first, and is refused.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { BindingRef, VersionContent } from '../../contracts/functions';
import { UserError } from '../../model/errors';
import type { CapturedFunction } from '../platform';
import type { WorkerdFunction } from './spec';
import { type BundleDigest, digestOf, packModules } from './bundle';
import type { WorkerdConfig } from './layout';
import { readWranglerConfig, type WranglerConfig } from './wrangler-config';

/** The live-able version of the project `fn.wrangler` names. */
export async function captureProject(fn: WorkerdFunction): Promise<CapturedFunction> {
  const wrangler = await readWranglerConfig(fn.wrangler);
  const root = path.dirname(path.resolve(fn.wrangler));
  const modules = await traceModules(root, wrangler.main, wrangler.file);
  const bundle = await packModules(root, modules);
  return {
    content: versionContent(
      wrangler,
      relativeName(root, wrangler.main),
      Object.keys(fn.secrets),
      digestOf(bundle),
    ),
    bundle: Readable.from([bundle]),
  };
}

/** A version's content from its wrangler configuration: the same project always gives the same content. */
export function versionContent(
  wrangler: WranglerConfig,
  main: string,
  secrets: string[],
  bundle: BundleDigest,
): VersionContent {
  const config: WorkerdConfig = {
    main,
    compatibility_date: wrangler.compatibility_date,
    compatibility_flags: [...wrangler.compatibility_flags],
    vars: wrangler.vars,
  };
  const bindings: BindingRef[] = [
    ...wrangler.d1_databases.map((d) => ({ name: d.binding, kind: 'd1' as const, resource: d.database_id })),
    ...wrangler.kv_namespaces.map((k) => ({ name: k.binding, kind: 'kv' as const, resource: k.id })),
    ...wrangler.r2_buckets.map((r) => ({ name: r.binding, kind: 'r2' as const, resource: r.bucket_name })),
  ].sort((a, b) => a.name.localeCompare(b.name));
  const triggers: unknown[] = [
    ...wrangler.triggers.crons.map((cron) => ({ cron })),
    ...wrangler.routes.map((route) => ({ route })),
  ];
  return {
    platform: 'workerd',
    name: wrangler.name,
    bundle,
    config,
    bindings,
    triggers,
    secrets: [...secrets].sort(),
  };
}

function relativeName(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

// Static `import … from "x"`, `export … from "x"`, `import "x"`, and `import("x")` with a literal.
const STATIC_IMPORT = /\b(?:import|export)\s*(?:[\w*${}\s,]*?\s*from\s*)?["']([^"'\n]+)["']/g;
const DYNAMIC_IMPORT = /\bimport\s*\(\s*["']([^"'\n]+)["']\s*\)/g;
const RUNTIME_MODULE = /^(?:node|cloudflare|workerd):/;

/** The main module and every module it reaches by relative imports, as names relative to the project. */
async function traceModules(root: string, main: string, wranglerFile: string): Promise<string[]> {
  const found = new Set<string>();
  const pending = [main];
  while (pending.length > 0) {
    const file = pending.pop()!;
    const name = relativeName(root, file);
    if (found.has(name)) continue;
    if (name.startsWith('..') || path.isAbsolute(name))
      throw new UserError(
        `${wranglerFile}: module ${file} is outside the project directory ${root}; move it inside`,
      );
    const source = await fs.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new UserError(`${wranglerFile}: cannot read module ${file} (${err.code ?? err.message})`);
    });
    found.add(name);
    for (const specifier of importsOf(source)) {
      if (RUNTIME_MODULE.test(specifier)) continue;
      if (!specifier.startsWith('./') && !specifier.startsWith('../'))
        throw new UserError(
          `${file}: imports package "${specifier}", which workerd cannot load without a bundler; ` +
            'bundle the Worker first (wrangler deploy --dry-run --outdir) and point main at the output',
        );
      pending.push(path.resolve(path.dirname(file), specifier));
    }
  }
  return [...found].sort();
}

function importsOf(source: string): string[] {
  // Comments could hold import-like text; strings cannot hold a newline, so line comments are safe to cut.
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  return [...code.matchAll(STATIC_IMPORT), ...code.matchAll(DYNAMIC_IMPORT)].map((m) => m[1]);
}
