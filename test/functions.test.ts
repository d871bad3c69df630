/**
 * Serverless functions end to end, through Temporal and the `lazarus` command, on a real
 * workerd (miniflare) serving the notes example: a Worker bound to a D1 database, a KV
 * namespace and an R2 bucket. v1 is deployed and writes notes, a backup is taken, a broken
 * v2 is deployed and overwrites them; restores and rollbacks bring back the code, the data,
 * or both, and the Worker's HTTP answer shows which.
 */
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { lazarus } from './support/cli';
import { tempDir } from './support/temp-dir';
import { useCliWorker } from './support/worker-process';
import { loadManifest } from '../config/load-manifest';
import { platformFor } from '../functions/platforms';
import { namedVersion } from '../functions/versions';
import { httpCall } from '../functions/http-call';
import { restoreLayers } from '../model/graph';

jest.setTimeout(300_000);

const EXAMPLE = path.resolve(__dirname, '..', 'examples', 'notes');
const PORT = 18_811;
const { env } = useCliWorker('functions');

let dir: string;
let manifest: string;
let broken: string;

/** What `--json` prints, read loosely: each test asserts the fields it needs. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

/** The Worker's answer to GET /. */
interface Answer {
  version: string;
  notes: string[];
  last: string | null;
  objects: string[];
}

// A connection per request (httpCall): a Worker redeployed in place drops kept-alive ones.
async function answer(): Promise<Answer> {
  const response = await httpCall(`http://127.0.0.1:${PORT}/`);
  expect(response.status).toBe(200);
  return JSON.parse(response.body) as Answer;
}

async function post(note: string): Promise<void> {
  const response = await httpCall(`http://127.0.0.1:${PORT}/`, { method: 'POST', body: note });
  expect(response.status).toBe(201);
}

function run(args: string[], extraEnv: Record<string, string> = {}) {
  const result = lazarus([...args, '--json'], { ...env, ...extraEnv });
  if (result.code !== 0)
    throw new Error(
      `lazarus ${args.join(' ')} exited ${result.code}: ${result.stderr} ${result.stdout.slice(0, 3000)}`,
    );
  return JSON.parse(result.stdout) as Json;
}

/** The manifest with the test's port, and a copy whose function is the broken build (same Worker, same state). */
async function writeManifests(root: string, extra = '') {
  const text = readFileSync(path.join(EXAMPLE, 'lazarus.yaml'), 'utf8').replace(
    'port: 8799',
    `port: ${PORT}${extra}`,
  );
  await fs.writeFile(path.join(root, 'lazarus.yaml'), text);
  await fs.writeFile(
    path.join(root, 'broken.yaml'),
    text.replace('worker/wrangler.toml', 'broken/wrangler.toml'),
  );
}

/** Stops the workerd host of the manifest's Worker (the test's teardown, and the disaster). */
async function stopHost(root: string) {
  const hostFile = path.join(root, '.lazarus', 'workerd', 'notes', 'lazarus-host', 'host.json');
  const host = JSON.parse(await fs.readFile(hostFile, 'utf8').catch(() => '{}')) as { pid?: number };
  if (host.pid) {
    try {
      process.kill(host.pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
}

beforeAll(async () => {
  dir = tempDir('lazarus-functions-');
  await fs.cp(EXAMPLE, dir, { recursive: true, filter: (src) => !src.includes('.lazarus') });
  // The watcher looks every second here (30 s by default).
  await writeManifests(dir, '\n      watch_every: 1s');
  manifest = path.join(dir, 'lazarus.yaml');
  broken = path.join(dir, 'broken.yaml');
});

afterAll(async () => {
  await stopHost(dir);
});

describe('the notes Worker on workerd, with its D1, KV and R2 data', () => {
  let backupId: string;

  test('the restore plan puts the bound D1, KV and R2 services before the Worker', () => {
    const layers = restoreLayers(loadManifest(manifest).services);
    expect(layers).toEqual([['notes-db', 'notes-kv', 'notes-media'], ['notes']]);
  });

  test("deploy v1 with data, back up, deploy a broken v2 that writes bad data, restore: the answer and the data are v1's", async () => {
    const deployed = run(['functions', 'deploy', manifest, 'notes']);
    expect(deployed.probe.status).toBe(200);
    await post('alpha');
    await post('beta');
    const v1 = await answer();
    expect(v1).toEqual({
      version: 'v1',
      notes: ['alpha', 'beta'],
      last: 'beta',
      objects: ['notes/alpha.txt', 'notes/beta.txt'],
    });

    const backup = run(['backup', manifest]);
    expect(backup.outcome).toBe('succeeded');
    expect(backup.services.notes.version).toBe(deployed.version);
    backupId = backup.backupId;

    run(['functions', 'deploy', broken, 'notes']);
    await post('evil');
    expect(await answer()).toEqual({
      version: 'v2',
      notes: ['EVIL', 'EVIL'],
      last: 'EVIL',
      objects: ['notes/EVIL.txt'],
    });

    const restore = run(['restore', manifest, '--yes']);
    expect(restore.outcome).toBe('succeeded');
    expect(await answer()).toEqual(v1);
    // Resources first, then the code: the Worker's deploy started after every binding was back.
    const bindingsDone = Math.max(
      ...['notes-db', 'notes-kv', 'notes-media'].map((s) => Date.parse(restore.services[s].finishedAt)),
    );
    expect(Date.parse(restore.services.notes.startedAt)).toBeGreaterThanOrEqual(bindingsDone);
    expect(restore.services.notes.probe.ok).toBe(true);
  });

  test('capturing the same code and configuration again gives the one version both backups hold', () => {
    const second = run(['backup', manifest]);
    const listed = run(['functions', 'versions', manifest, 'notes']);
    const v1 = listed.versions.find((v: Json) => v.version === second.services.notes.version);
    expect(v1.backups).toEqual(expect.arrayContaining([backupId, second.backupId]));
    expect(v1.live).toBe(true);
    expect(listed.versions.filter((v: Json) => v.backups.length > 0)).toHaveLength(1);
  });

  test("a code-only rollback keeps v2's data; a data-only rollback keeps v2's code", async () => {
    run(['functions', 'deploy', broken, 'notes']);
    await post('evil');
    run(['functions', 'rollback', manifest, 'notes', '--to', backupId, '--code-only', '--yes']);
    expect(await answer()).toMatchObject({ version: 'v1', notes: ['EVIL', 'EVIL'], last: 'EVIL' });

    run(['functions', 'deploy', broken, 'notes']);
    run(['functions', 'rollback', manifest, 'notes', '--to', backupId, '--data-only', '--yes']);
    expect(await answer()).toMatchObject({ version: 'v2', notes: ['alpha', 'beta'], last: 'beta' });
  });

  test('the Worker and its whole state deleted: the repository alone brings back code, configuration and data', async () => {
    await stopHost(dir);
    await fs.rm(path.join(dir, '.lazarus', 'workerd'), { recursive: true, force: true });
    const restore = run(['restore', manifest, '--yes', '--backup', backupId]);
    expect(restore.outcome).toBe('succeeded');
    expect(await answer()).toEqual({
      version: 'v1',
      notes: ['alpha', 'beta'],
      last: 'beta',
      objects: ['notes/alpha.txt', 'notes/beta.txt'],
    });
  });

  test('a change made outside Lazarus is recorded by the watcher, so the version before it can be restored', async () => {
    const before = run(['functions', 'versions', manifest, 'notes']).versions.length;
    run(['functions', 'watch', manifest]);
    try {
      // A hand-made hotfix deployed by another tool: Lazarus is not told, the watcher finds it.
      const hotfix = path.join(dir, 'hotfix');
      await fs.cp(path.join(dir, 'worker'), hotfix, { recursive: true });
      const toml = path.join(hotfix, 'wrangler.toml');
      await fs.writeFile(
        toml,
        (await fs.readFile(toml, 'utf8')).replace('RELEASE = "v1"', 'RELEASE = "v1-hotfix"'),
      );
      const fn = { ...loadManifest(manifest).services.notes.function!, wrangler: toml };
      const platform = platformFor(fn);
      const project = await platform.fromProject!(fn, {
        signal: new AbortController().signal,
        scratchDir: dir,
      });
      await platform.deploy(fn, namedVersion(project.content), project.bundle, {
        signal: new AbortController().signal,
        scratchDir: dir,
      });
      const deadline = Date.now() + 60_000;
      let watched: Json[] = [];
      while (Date.now() < deadline) {
        watched = run(['functions', 'versions', manifest, 'notes']).versions.filter(
          (v: Json) => v.source === 'watch',
        );
        if (watched.length > 0) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      if (watched.length === 0) console.log(run(['functions', 'watch', manifest, '--status']));
      expect(watched).toHaveLength(1);
      expect(watched[0].live).toBe(true);
      expect(run(['functions', 'versions', manifest, 'notes']).versions.length).toBe(before + 1);
    } finally {
      run(['functions', 'watch', manifest, '--stop']);
    }
  });
});

describe('secrets', () => {
  test('a secret missing at restore is a clear error, and nothing is deployed without it', async () => {
    const root = tempDir('lazarus-functions-secret-');
    await fs.cp(EXAMPLE, root, { recursive: true, filter: (src) => !src.includes('.lazarus') });
    await writeManifests(root, '\n      secrets: { API_TOKEN: { env: NOTES_TEST_API_TOKEN } }');
    const file = path.join(root, 'lazarus.yaml');
    try {
      await stopHost(dir);
      // The CLI has the secret; the worker (started without it) does not.
      run(['functions', 'deploy', file, 'notes'], { NOTES_TEST_API_TOKEN: 'token-1' });
      const backup = run(['backup', file]);
      run(['functions', 'deploy', path.join(root, 'broken.yaml'), 'notes'], {
        NOTES_TEST_API_TOKEN: 'token-1',
      });
      const restore = lazarus(['restore', file, '--yes', '--backup', backup.backupId, '--json'], env);
      expect(restore.code).toBe(1);
      const result = JSON.parse(restore.stdout) as Json;
      expect(result.services.notes.status).toBe('failed');
      expect(result.services.notes.reason).toMatch(/API_TOKEN.*no value/);
      expect((await answer()).version).toBe('v2');
    } finally {
      await stopHost(root);
    }
  });
});
