/**
 * Lints source text as if it stood at a path in the tree, with the project's own
 * eslint.config.mjs, and prints the import rules' messages as JSON. Run as a child process
 * by test/unit/layers.test.ts: the config is an ES module, which jest's CommonJS cannot
 * load. Type-aware parsing is off, since the probed files do not exist.
 */
const { ESLint } = require('eslint');

async function main() {
  const probes = JSON.parse(process.argv[2]);
  const eslint = new ESLint({
    cwd: process.cwd(),
    overrideConfig: {
      languageOptions: { parserOptions: { projectService: false } },
      rules: {
        '@typescript-eslint/no-floating-promises': 'off',
        '@typescript-eslint/no-misused-promises': 'off',
      },
    },
  });
  const results = [];
  for (const { file, code } of probes) {
    const [result] = await eslint.lintText(code, { filePath: file });
    results.push(result.messages.map((m) => `${m.ruleId}: ${m.message}`));
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
