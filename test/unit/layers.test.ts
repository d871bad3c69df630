/** The layer order the README's Design section states, as lint enforces it (eslint.config.mjs). */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

interface Probe {
  file: string;
  code: string;
}

const root = path.resolve(__dirname, '..', '..');

function lintMessages(probes: Probe[]): string[][] {
  const out = execFileSync(
    process.execPath,
    [path.join(root, 'test', 'support', 'lint-probe.js'), JSON.stringify(probes)],
    { cwd: root, encoding: 'utf8' },
  );
  return JSON.parse(out) as string[][];
}

const probe = (file: string, ...imports: string[]): Probe => ({
  file,
  code: `${imports.join('\n')}\nexport {};\n`,
});

test('an import that goes up a layer fails lint; one that goes down passes', () => {
  const [modelUp, ioUp, toolsUp, down, sameLayer] = lintMessages([
    probe('model/zz-probe.ts', "import type { Repository } from '../repository/repository';"),
    probe('repository/zz-probe.ts', "import { backupApplication } from '../workflows/backup';"),
    probe('tools/zz-probe.ts', "import { createWorker } from '../worker/create-worker';"),
    probe('client/zz-probe.ts', "import { createWorker } from '../worker/create-worker';"),
    probe('repository/zz-probe.ts', "import { adapterFor } from '../datastores/adapters';"),
  ]);
  expect(modelUp.join()).toMatch(/may not import a layer above it/);
  expect(ioUp.join()).toMatch(/may not import a layer above it/);
  expect(toolsUp.join()).toMatch(/may not import a layer above it/);
  expect(down.filter((m) => m.startsWith('no-restricted-imports'))).toEqual([]);
  expect(sameLayer.filter((m) => m.startsWith('no-restricted-imports'))).toEqual([]);
});

test('workflow-safe files are banned from Node built-ins and from running I/O code, not from its types', () => {
  const [spec, model, runtimeIo, typesOnly, specAdapter] = lintMessages([
    probe('datastores/postgres/spec.ts', "import { readFileSync } from 'node:fs';"),
    probe('model/zz-probe.ts', "import path from 'path';"),
    probe('workflows/zz-probe.ts', "import { Repository } from '../repository/repository';"),
    probe(
      'workflows/zz-probe.ts',
      "import type { Activities } from '../activities';",
      "import type { BackupEntry } from '../repository/records/catalog';",
    ),
    probe('datastores/redis/spec.ts', "import { commandOutput } from '../shared/process';"),
  ]);
  expect(spec.join()).toMatch(/no Node built-ins/);
  expect(model.join()).toMatch(/no Node built-ins/);
  expect(runtimeIo.join()).toMatch(/imports only types from code that does I\/O/);
  expect(typesOnly.filter((m) => m.startsWith('no-restricted-imports'))).toEqual([]);
  expect(specAdapter.join()).toMatch(/never imports an adapter/);
});

test('only tests import test/', () => {
  const [bench] = lintMessages([
    probe('bench/zz-probe.ts', "import { tempDir } from '../test/support/temp-dir';"),
  ]);
  expect(bench.join()).toMatch(/Only tests import test\//);
});
