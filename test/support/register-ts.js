/**
 * Lets a test's child process run TypeScript sources, as ts-jest does inside jest:
 * `node -r ./test/support/register-ts.js child.ts`. Each file is transpiled alone
 * (the project compiles with isolatedModules, so that is safe); types are not checked.
 */
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  });
  module._compile(outputText, filename);
};
