/**
 * The self-hosted workerd platform against a real workerd (through miniflare), real HTTP
 * and real D1/KV/R2 files: deploys from a wrangler project, captures from the host,
 * rollbacks of code and of bindings, secrets, quiesce/resume and a host killed with SIGKILL.
 * Needs the build (dist/functions/workerd/host-main.js), as the CLI tests do.
 */
import { createHash } from 'node:crypto';
import { promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import canonicalize from 'canonicalize';
import type { FunctionVersion, VersionContent } from '../contracts/functions';
import { FunctionAbsentError, MissingSecretError, type CapturedFunction } from '../functions/platform';
import { workerd, type WorkerdFunction } from '../functions/workerd/spec';
import { workerdPlatform as platform } from '../functions/workerd/platform';
import { captureProject } from '../functions/workerd/project';
import { hostPaths, type HostAnnouncement } from '../functions/workerd/layout';
import { tempDir } from './support/temp-dir';

jest.setTimeout(120_000);

const PORT = 18731;
const root = tempDir('lazarus-workerd-');
const project = path.join(root, 'notes');
const ctx = () => ({ signal: new AbortController().signal, scratchDir: path.join(root, 'scratch') });
const hostPids = new Set<number>();

const WORKER = `import { VERSION } from './version.js';
export default {
  async fetch(req, env) {
    await env.DB.exec('CREATE TABLE IF NOT EXISTS notes (body TEXT)');
    if (req.method === 'POST') {
      const body = await req.text();
      await env.DB.prepare('INSERT INTO notes VALUES (?)').bind(body).run();
      await env.KV.put('last', body);
      await env.BUCKET.put('blob/' + body + '.txt', body);
    }
    const notes = (await env.DB.prepare('SELECT body FROM notes').all()).results.map((r) => r.body);
    const objects = (await env.BUCKET.list()).objects.map((o) => o.key);
    return Response.json({ version: VERSION, greeting: env.GREETING, token: env.API_TOKEN ?? null,
      notes, last: await env.KV.get('last'), objects });
  },
};
`;

async function writeProject(version: string, databaseId = 'notes-db-1'): Promise<void> {
  await fs.mkdir(path.join(project, 'src'), { recursive: true });
  await fs.writeFile(path.join(project, 'src', 'index.js'), WORKER);
  await fs.writeFile(path.join(project, 'src', 'version.js'), `export const VERSION = '${version}';\n`);
  await fs.writeFile(
    path.join(project, 'wrangler.toml'),
    [
      'name = "notes"',
      'main = "src/index.js"',
      'compatibility_date = "2025-01-01"',
      '[vars]',
      `GREETING = "hello from ${version}"`,
      '[[d1_databases]]',
      'binding = "DB"',
      `database_id = "${databaseId}"`,
      '[[kv_namespaces]]',
      'binding = "KV"',
      'id = "notes-kv"',
      '[[r2_buckets]]',
      'binding = "BUCKET"',
      'bucket_name = "notes-bucket"',
      '',
    ].join('\n'),
  );
}

const fn: WorkerdFunction = workerd.schema.parse({
  platform: 'workerd',
  wrangler: path.join(project, 'wrangler.toml'),
  state: path.join(root, 'state'),
  port: PORT,
  probe: { path: '/' },
});

/** What the generic layer does: the version's id is the SHA-256 of its canonical content. */
function named(content: VersionContent): FunctionVersion {
  return { id: `fv-${createHash('sha256').update(canonicalize(content)!).digest('hex')}`, ...content };
}

async function bytesOf(captured: CapturedFunction): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of captured.bundle) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A captured version held in memory, deployable as often as needed. */
interface Held {
  version: FunctionVersion;
  bytes: Buffer;
}
async function hold(captured: CapturedFunction): Promise<Held> {
  return { version: named(captured.content), bytes: await bytesOf(captured) };
}
const deployHeld = (f: WorkerdFunction, held: Held) =>
  platform.deploy(f, held.version, Readable.from([held.bytes]), ctx());

async function get(): Promise<{ version: string; notes: string[]; token: string | null; greeting: string }> {
  const res = await fetch(`http://127.0.0.1:${PORT}/`);
  expect(res.status).toBe(200);
  return (await res.json()) as { version: string; notes: string[]; token: string | null; greeting: string };
}
async function post(note: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${PORT}/`, { method: 'POST', body: note });
  expect(res.status).toBe(200);
}

async function hostPid(): Promise<number> {
  const announced = JSON.parse(await fs.readFile(hostPaths(fn.state!).hostJson, 'utf8')) as HostAnnouncement;
  hostPids.add(announced.pid);
  return announced.pid;
}

async function waitForExit(pid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`process ${pid} did not exit`);
}

afterAll(async () => {
  await hostPid().catch(() => undefined);
  for (const pid of hostPids) {
    try {
      process.kill(pid, 'SIGTERM');
      await waitForExit(pid);
    } catch {
      // already gone
    }
  }
  await fs.rm(root, { recursive: true, force: true });
});

describe('workerd platform (real workerd, real HTTP)', () => {
  let v1: Held;
  let v2: Held;

  test('capture with nothing deployed is FunctionAbsentError', async () => {
    await expect(platform.capture(fn, ctx())).rejects.toBeInstanceOf(FunctionAbsentError);
  });

  test('deploy v1 from the project: the probe answers v1 on the spec port', async () => {
    await writeProject('v1');
    const fromProject = await hold(await captureProject(fn));
    expect(fromProject.version.config).toMatchObject({
      main: 'src/index.js',
      compatibility_date: '2025-01-01',
    });
    const started = Date.now();
    const outcome = await deployHeld(fn, fromProject);
    console.log(`cold deploy (host start + workerd): ${Date.now() - started} ms`);
    expect(outcome).toMatchObject({ live: fromProject.version.id, how: 'created' });
    expect(outcome.endpoint).toBe(`http://127.0.0.1:${PORT}/`);
    const answer = await platform.probe({ ...fn, probe: { ...fn.probe, contains: '"v1"' } }, ctx());
    expect(answer).toMatchObject({ ok: true, status: 200 });
    await post('alpha');
    expect(await get()).toMatchObject({ version: 'v1', notes: ['alpha'], greeting: 'hello from v1' });
    v1 = fromProject;
  });

  test('capturing twice gives the same bundle bytes and content, equal to the project version', async () => {
    const started = Date.now();
    const first = await platform.capture(fn, ctx());
    console.log(`capture: ${Date.now() - started} ms`);
    const second = await platform.capture(fn, ctx());
    const [a, b] = [await bytesOf(first), await bytesOf(second)];
    expect(a.equals(b)).toBe(true);
    expect(createHash('sha256').update(a).digest('hex')).toBe(first.content.bundle.sha256);
    expect(first.content).toEqual(second.content);
    expect(named(first.content).id).toBe(v1.version.id);
    expect(first.content.bindings).toEqual([
      { name: 'BUCKET', kind: 'r2', resource: 'notes-bucket' },
      { name: 'DB', kind: 'd1', resource: 'notes-db-1' },
      { name: 'KV', kind: 'kv', resource: 'notes-kv' },
    ]);
    v1 = { version: named(first.content), bytes: a };
  });

  test('deploy v2 in place: answers v2 on the same port, the data is kept', async () => {
    await writeProject('v2');
    v2 = await hold(await captureProject(fn));
    const started = Date.now();
    expect(await deployHeld(fn, v2)).toMatchObject({ live: v2.version.id, how: 'updated' });
    console.log(`deploy (in-place reload): ${Date.now() - started} ms`);
    expect(await get()).toMatchObject({ version: 'v2', notes: ['alpha'], greeting: 'hello from v2' });
    await post('beta');
  });

  test("deploying v1's captured version rolls the code back and keeps v2's data", async () => {
    expect(await deployHeld(fn, v1)).toMatchObject({ live: v1.version.id, how: 'updated' });
    expect(await get()).toMatchObject({ version: 'v1', notes: ['alpha', 'beta'], greeting: 'hello from v1' });
    expect(await deployHeld(fn, v1)).toMatchObject({ how: 'unchanged' });
    expect(named((await platform.capture(fn, ctx())).content).id).toBe(v1.version.id);
  });

  test('a version bound to another database_id sees that database; rolling back re-attaches the original', async () => {
    await writeProject('v3', 'notes-db-other');
    const v3 = await hold(await captureProject(fn));
    expect(platform.boundResources(fn, v3.version).DB).toEqual({
      kind: 'd1',
      path: path.resolve(fn.state!),
      database_id: 'notes-db-other',
    });
    await deployHeld(fn, v3);
    expect(await get()).toMatchObject({ version: 'v3', notes: [] });
    await deployHeld(fn, v1);
    expect(await get()).toMatchObject({ version: 'v1', notes: ['alpha', 'beta'] });
  });

  test('a secret without a value is MissingSecretError, and the live version is unchanged', async () => {
    const withSecret = named({ ...v1.version, secrets: ['API_TOKEN'] });
    const held = { version: withSecret, bytes: v1.bytes };
    const error = await deployHeld(fn, held).catch((err: Error) => err);
    expect(error).toBeInstanceOf(MissingSecretError);
    expect((error as Error).message).toMatch(/API_TOKEN.*secrets\.API_TOKEN/);

    const unset = { ...fn, secrets: { API_TOKEN: { env: 'LAZARUS_TEST_WORKERD_TOKEN' } } };
    delete process.env.LAZARUS_TEST_WORKERD_TOKEN;
    await expect(deployHeld(unset, held)).rejects.toBeInstanceOf(MissingSecretError);
    expect(await get()).toMatchObject({ version: 'v1', token: null });
    expect(named((await platform.capture(fn, ctx())).content).id).toBe(v1.version.id);

    process.env.LAZARUS_TEST_WORKERD_TOKEN = 's3cret';
    expect(await deployHeld(unset, held)).toMatchObject({ how: 'updated' });
    expect(await get()).toMatchObject({ version: 'v1', token: 's3cret' });
    expect(statSync(hostPaths(fn.state!).secrets).mode & 0o777).toBe(0o600);
    const captured = await platform.capture(fn, ctx());
    expect(captured.content.secrets).toEqual(['API_TOKEN']);
    expect((await bytesOf(captured)).includes('s3cret')).toBe(false);
    await deployHeld(fn, v1);
  });

  test('a version that does not load fails its deploy, and the previous version serves again', async () => {
    await writeProject('v-broken');
    await fs.writeFile(path.join(project, 'src', 'version.js'), 'export const VERSION = ;\n');
    const broken = await hold(await captureProject(fn));
    await expect(deployHeld(fn, broken)).rejects.toThrow(
      /did not start.*SyntaxError.*src\/version.js.*previous version is deployed again/s,
    );
    expect(await get()).toMatchObject({ version: 'v1', notes: ['alpha', 'beta'] });
    expect(named((await platform.capture(fn, ctx())).content).id).toBe(v1.version.id);
  });

  test('quiesce: the port refuses; resume: it answers again with the data', async () => {
    await platform.quiesce(fn, ctx());
    await expect(fetch(`http://127.0.0.1:${PORT}/`)).rejects.toThrow();
    expect(await platform.probe(fn, ctx())).toMatchObject({ ok: false, status: 0 });
    await platform.resume(fn, ctx());
    expect(await get()).toMatchObject({ version: 'v1', notes: ['alpha', 'beta'] });
  });

  test('quiesced while no host runs: a host started meanwhile stays quiet until resume', async () => {
    const stopped = await hostPid();
    process.kill(stopped, 'SIGTERM');
    await waitForExit(stopped);
    await platform.quiesce(fn, ctx());
    expect(await platform.probe(fn, ctx())).toMatchObject({ ok: false, status: 0 });
    expect(await hostPid()).not.toBe(stopped);
    await platform.resume(fn, ctx());
    expect(await get()).toMatchObject({ version: 'v1', notes: ['alpha', 'beta'] });
  });

  test('a host killed with SIGKILL is started again by the next call', async () => {
    const killed = await hostPid();
    process.kill(killed, 'SIGKILL');
    await waitForExit(killed);
    const started = Date.now();
    expect(await platform.probe({ ...fn, probe: { ...fn.probe, contains: '"v1"' } }, ctx())).toMatchObject({
      ok: true,
    });
    console.log(`attach-or-run after SIGKILL: ${Date.now() - started} ms`);
    expect(await hostPid()).not.toBe(killed);
    expect(await get()).toMatchObject({ version: 'v1', notes: ['alpha', 'beta'] });
  });

  test('the state directory deleted under a running host: the host stops, a deploy recreates the function', async () => {
    const old = await hostPid();
    await fs.rm(fn.state!, { recursive: true, force: true });
    await waitForExit(old);
    await expect(platform.capture(fn, ctx())).rejects.toBeInstanceOf(FunctionAbsentError);
    expect(await deployHeld(fn, v1)).toMatchObject({ how: 'created' });
    expect(await get()).toMatchObject({ version: 'v1', notes: [] });
    expect(await hostPid()).not.toBe(old);
  });
});
