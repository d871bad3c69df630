// Workflow files run in Temporal's deterministic sandbox: Node built-ins (and the
// modules that pull them in) are banned there, as in Temporal's official samples.
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
  {
    // Workflow files, contracts and the pure datastore specs they read (through datastores/registry).
    files: [
      'workflows/**/*.ts',
      'contracts/**/*.ts',
      'datastores/registry.ts',
      'datastores/kind.ts',
      'datastores/*/spec.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'Workflow code is deterministic: no Node built-ins.',
          })),
          patterns: [
            {
              group: [
                '**/activities/*',
                '**/datastores/*',
                '!**/datastores/registry',
                '**/repository/*',
                '**/temporal/*',
                '**/client/*',
              ],
              allowTypeImports: true,
              message: 'Workflows import only types from non-workflow code.',
            },
          ],
        },
      ],
    },
  },
  {
    // The top layer's helpers stay out of tools and benches: what they share lives lower down.
    files: ['tools/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/client/*', '**/client/**'],
              message: 'tools/ and bench/ do not import client/: use model/, contracts/ or temporal/.',
            },
          ],
        },
      ],
    },
  },
);
