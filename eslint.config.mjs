// Lint for the layer order in the README's Design section: a file may import its own
// layer and those below it, never one above. Workflow code runs in Temporal's
// deterministic sandbox, so it and everything it may import (the pure layers) are banned
// from Node built-ins, as in Temporal's official samples.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  // Plain JavaScript loaded by jest as it is (config, the summary reporter): outside the TypeScript project.
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.lazarus/**',
      'coverage/**',
      '*.config.js',
      '*.config.mjs',
      'test/support/*.js',
      // Other projects' files (a Worker's code beside its wrangler file), read as data.
      'test/fixtures/**',
      'examples/**/*.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  ...layerRules(),
);

/**
 * A regex for relative imports that reach `path` (a folder or a file, without extension)
 * from anywhere in the tree: `./path…`, `../path…`, `../../path…`. Package imports such
 * as `@temporalio/client` never match.
 */
function reaching(path, { except = [] } = {}) {
  const not = except.length ? `(?!(?:${except.join('|')})$)` : '';
  return `^\\.{1,2}/(?:\\.\\./)*${path}(?:/${not}.*)?$`;
}

/**
 * The layers, lowest first. `files` are a layer's own files; `imported` are regexes for
 * the import paths that reach it.
 */
function layers() {
  const datastoreSpecs = [
    'datastores/registry.ts',
    'datastores/kind.ts',
    'datastores/*/spec.ts',
    'functions/registry.ts',
    'functions/spec.ts',
    'functions/probe.ts',
    'functions/*/spec.ts',
  ];
  const entryScripts = ['tools/prerequisites.ts', 'tools/record-histories.ts'];
  return [
    { name: 'contracts/', pure: true, files: ['contracts/**/*.ts'], imported: [reaching('contracts')] },
    {
      name: 'the domain (model/ and the datastore specs)',
      pure: true,
      files: ['model/**/*.ts', ...datastoreSpecs],
      imported: [
        reaching('model'),
        reaching('datastores/(?:registry|kind|[^/]+/spec)'),
        reaching('functions/(?:registry|spec|probe|[^/]+/spec)'),
      ],
      // Inside datastores/ a spec reaches its adapter without naming the folder: ./adapter, ../shared.
      nearbyIo: '^\\.{1,2}/(?:\\.\\./)*(?:adapters?|shared|platforms?|[^/]+/(?:adapter|platform))(?:/.*)?$',
    },
    { name: 'config/', files: ['config/**/*.ts'], imported: [reaching('config')] },
    {
      name: 'the I/O layer (datastore adapters, repository, discovery, temporal, tools)',
      files: [
        'datastores/**/*.ts',
        'functions/**/*.ts',
        'repository/**/*.ts',
        'discovery/**/*.ts',
        'temporal/**/*.ts',
        'tools/**/*.ts',
        'examples/**/*.ts',
      ],
      ignores: [...datastoreSpecs, ...entryScripts, 'temporal/runs.ts'],
      imported: [
        reaching('datastores', { except: ['registry', 'kind', '[^/]+/spec'] }),
        reaching('functions', { except: ['registry', 'spec', 'probe', '[^/]+/spec'] }),
        reaching('(?:repository|discovery|examples)'),
        reaching('temporal', { except: ['runs'] }),
        reaching('tools', { except: ['prerequisites', 'record-histories'] }),
      ],
    },
    // Workflows name their activities by type (proxyActivities<typeof activities>), as
    // in the samples: only type imports may reach above them.
    {
      name: 'workflows/',
      pure: true,
      typesFromAbove: true,
      files: ['workflows/**/*.ts'],
      imported: [reaching('workflows')],
    },
    { name: 'activities/', files: ['activities/**/*.ts'], imported: [reaching('activities')] },
    { name: 'worker/', files: ['worker/**/*.ts'], imported: [reaching('worker')] },
    // Starting runs and following them: what the CLI, the benches and the history recorder share.
    { name: 'temporal/runs.ts', files: ['temporal/runs.ts'], imported: [reaching('temporal/runs')] },
    {
      name: 'the entry points (client/, bench/, the tools scripts)',
      files: ['client/**/*.ts', 'bench/**/*.ts', ...entryScripts],
      imported: [reaching('(?:client|bench)'), reaching('tools/(?:prerequisites|record-histories)')],
    },
  ];
}

/** One no-restricted-imports block per layer: the layers above it, and for pure layers the built-ins. */
function layerRules() {
  const all = layers();
  const testCode = { regex: reaching('test'), message: 'Only tests import test/.' };
  return all.map((layer, i) => {
    const above = all.slice(i + 1).flatMap((l) => l.imported);
    const upward = {
      regex: above.map((r) => `(?:${r})`).join('|'),
      allowTypeImports: layer.typesFromAbove === true,
      message: `${layer.name} may not import a layer above it (README, Design: layers call downward only).`,
    };
    const builtins = nodeBuiltins.map((name) => ({
      name,
      message: `${layer.name} is workflow-safe code (workflows import it): no Node built-ins.`,
    }));
    // Pure code may name the types of impure layers below it, never run them.
    const impureBelow = all
      .slice(0, i)
      .filter((l) => !l.pure)
      .flatMap((l) => l.imported);
    const runtimeIo = {
      regex: impureBelow.map((r) => `(?:${r})`).join('|'),
      allowTypeImports: true,
      message: `${layer.name} is workflow-safe code: it imports only types from code that does I/O.`,
    };
    const nearby = layer.nearbyIo && {
      regex: layer.nearbyIo,
      message: `${layer.name} is pure: a spec never imports an adapter or datastores/shared.`,
    };
    const patterns = [
      ...(nearby ? [nearby] : []),
      ...(above.length ? [upward] : []),
      ...(layer.pure && impureBelow.length ? [runtimeIo] : []),
      testCode,
    ];
    return {
      files: layer.files,
      ...(layer.ignores ? { ignores: layer.ignores } : {}),
      rules: { 'no-restricted-imports': ['error', { paths: layer.pure ? builtins : [], patterns }] },
    };
  });
}
