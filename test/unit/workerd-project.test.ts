/** A Worker's bundle built from its wrangler project: which modules go in, and what is refused. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { workerd } from '../../functions/workerd/spec';
import { captureProject } from '../../functions/workerd/project';
import { digestOf, readBundle, unpackModules } from '../../functions/workerd/bundle';
import { Readable } from 'node:stream';
import { tempDir } from '../support/temp-dir';

let root: string;
beforeEach(() => {
  root = tempDir('lazarus-workerd-project-');
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

async function project(files: Record<string, string>, secrets: Record<string, unknown> = {}) {
  for (const [name, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await fs.writeFile(path.join(root, name), text);
  }
  return workerd.schema.parse({
    platform: 'workerd',
    wrangler: path.join(root, 'wrangler.toml'),
    state: root,
    secrets,
  });
}

const WRANGLER = 'name = "w"\nmain = "src/index.mjs"\ncompatibility_date = "2025-01-01"\n';

async function modulesOf(fn: ReturnType<typeof workerd.schema.parse>) {
  const captured = await captureProject(fn);
  const chunks: Buffer[] = [];
  for await (const chunk of captured.bundle) chunks.push(chunk as Buffer);
  return { content: captured.content, bytes: Buffer.concat(chunks) };
}

test('the main module and what it imports (static, multi-line, re-exported, dynamic), not other files', async () => {
  const fn = await project({
    'wrangler.toml': WRANGLER,
    'src/index.mjs':
      "import {\n  a,\n  b,\n} from './lib/ab.mjs';\nexport * from \"./re.mjs\";\nimport { connect } from 'cloudflare:sockets';\n" +
      "// import './commented-out.mjs';\nexport default { fetch: async () => (await import('./lazy.mjs')).default };\n",
    'src/lib/ab.mjs': "import '../side.mjs';\nexport const a = 1, b = 2;\n",
    'src/side.mjs': 'globalThis.x = 1;\n',
    'src/re.mjs': 'export const r = 1;\n',
    'src/lazy.mjs': 'export default 1;\n',
    'src/unused.mjs': 'export const u = 1;\n',
  });
  const { content, bytes } = await modulesOf(fn);
  const modules = unpackModules(bytes);
  expect([...modules.keys()]).toEqual([
    'src/index.mjs',
    'src/lazy.mjs',
    'src/lib/ab.mjs',
    'src/re.mjs',
    'src/side.mjs',
  ]);
  expect(content.config).toMatchObject({ main: 'src/index.mjs' });
  expect(digestOf(bytes)).toEqual(content.bundle);
});

test('the same project gives the same bytes; the secrets are names, sorted', async () => {
  const fn = await project(
    { 'wrangler.toml': WRANGLER, 'src/index.mjs': 'export default {};\n' },
    { B_TOKEN: { env: 'X' }, A_KEY: { file: '/nowhere' } },
  );
  const [first, second] = [await modulesOf(fn), await modulesOf(fn)];
  expect(first.bytes.equals(second.bytes)).toBe(true);
  expect(first.content.secrets).toEqual(['A_KEY', 'B_TOKEN']);
});

test('a package import needs a bundler, and says so', async () => {
  const fn = await project({ 'wrangler.toml': WRANGLER, 'src/index.mjs': "import _ from 'lodash';\n" });
  await expect(captureProject(fn)).rejects.toThrow(/imports package "lodash".*bundle the Worker first/);
});

test('a module outside the project directory is refused', async () => {
  const fn = await project({ 'wrangler.toml': WRANGLER, 'src/index.mjs': "import '../../elsewhere.mjs';\n" });
  await expect(captureProject(fn)).rejects.toThrow(/outside the project directory/);
});

test('a bundle whose bytes differ from the digest it is deployed under is refused', async () => {
  const fn = await project({ 'wrangler.toml': WRANGLER, 'src/index.mjs': 'export default {};\n' });
  const { content, bytes } = await modulesOf(fn);
  const damaged = Buffer.from(bytes);
  damaged[damaged.length - 6] ^= 1;
  await expect(readBundle(Readable.from([damaged]), content.bundle)).rejects.toThrow(/bundle is damaged/);
  await expect(readBundle(Readable.from([bytes]), content.bundle)).resolves.toEqual(bytes);
});
