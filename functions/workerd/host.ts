/**
 * The host of one self-hosted Worker: a Node process owning one Miniflare instance, which
 * serves the deployed version (lazarus-host/deployed/) on the function's address, with its
 * D1/KV/R2 data persisted under the state directory. A small admin API on 127.0.0.1
 * (announced in host.json) lets the platform reload, quiesce and resume it.
 * Started by host-main.ts; every admin operation runs one at a time.
 */
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Miniflare, MiniflareCoreError, type MiniflareOptions } from 'miniflare';
import { exists } from '../../datastores/shared/local-paths';
import {
  bindingOptions,
  type DeployedVersion,
  type HostAnnouncement,
  type HostPaths,
  type HostStatus,
  type ListenAddress,
  readJsonFile,
  writeJsonFile,
} from './layout';

const RECENT_LINES = 10;

export class FunctionHost {
  private mf: Miniflare | undefined;
  private url: string | undefined;
  private version: string | undefined;
  private error: string | undefined;
  /** The port picked when the function asked for port 0, kept so a reload keeps its URL. */
  private pickedPort: number | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** workerd's latest output lines: why a version did not start ("Uncaught SyntaxError … at src/index.js:1:47"). */
  private recentOutput: string[] = [];

  constructor(private readonly paths: HostPaths) {}

  /** Runs admin operations one after another: a reload never races a quiesce. */
  private serial<T>(operation: () => Promise<T>): Promise<T> {
    const next = this.queue.then(operation, operation);
    this.queue = next.catch(() => {});
    return next;
  }

  /** Serves the deployed version (swapping code in place when already serving), unless quiesced. */
  reload(): Promise<HostStatus> {
    return this.serial(async () => {
      if (!(await exists(this.paths.quiesced))) await this.serve();
      return this.status();
    });
  }

  quiesce(): Promise<HostStatus> {
    return this.serial(async () => {
      await fs.writeFile(this.paths.quiesced, `${new Date().toISOString()}\n`);
      await this.stop();
      return this.status();
    });
  }

  resume(): Promise<HostStatus> {
    return this.serial(async () => {
      await fs.rm(this.paths.quiesced, { force: true });
      if (!this.mf) await this.serve();
      return this.status();
    });
  }

  current(): Promise<HostStatus> {
    return this.serial(() => this.status());
  }

  /** Stops workerd: nothing in flight, its SQLite files closed. */
  async stop(): Promise<void> {
    const mf = this.mf;
    this.mf = undefined;
    this.url = undefined;
    await mf?.dispose();
  }

  private async serve(): Promise<void> {
    const options = await this.options();
    if (!options) return;
    this.error = undefined;
    this.recentOutput = [];
    try {
      if (this.mf) await this.mf.setOptions(options.miniflare);
      else this.mf = await startMiniflare(options.miniflare);
      const url = await this.mf.ready;
      this.url = url.href;
      this.pickedPort ??= Number(url.port);
      this.version = options.version;
    } catch (err) {
      // A version that does not load leaves nothing serving, and says why.
      this.error = [(err as Error).message, ...this.recentOutput].join('\n');
      await this.stop().catch(() => {});
      throw new Error(this.error);
    }
  }

  private async options(): Promise<{ version: string; miniflare: MiniflareOptions } | undefined> {
    const deployed = await readJsonFile<DeployedVersion>(this.paths.versionFile);
    if (!deployed) return undefined;
    const listen = (await readJsonFile<ListenAddress>(this.paths.listen)) ?? { host: '127.0.0.1', port: 0 };
    const secrets = (await readJsonFile<Record<string, string>>(this.paths.secrets)) ?? {};
    const { config, bindings } = deployed.content;
    const names = (await fs.readdir(this.paths.modules, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => path.join(e.parentPath, e.name));
    const main = path.join(this.paths.modules, config.main);
    // The first module is the entry point; every path sits under modulesRoot (a path
    // outside it makes workerd refuse with "can't use '..'").
    const modules = [main, ...names.filter((n) => n !== main).sort()].map((file) => ({
      type: 'ESModule' as const,
      path: file,
    }));
    return {
      version: deployed.id,
      miniflare: {
        name: deployed.content.name,
        modules,
        modulesRoot: this.paths.modules,
        compatibilityDate: config.compatibility_date,
        compatibilityFlags: config.compatibility_flags,
        bindings: { ...config.vars, ...secrets },
        ...bindingOptions(bindings),
        defaultPersistRoot: this.paths.state,
        handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
          this.keepOutput(stdout, (line) => console.log(line));
          this.keepOutput(stderr, (line) => console.error(line));
        },
        host: listen.host,
        port: listen.port === 0 ? (this.pickedPort ?? 0) : listen.port,
      },
    };
  }

  /** Passes workerd's output to the host's log, keeping the last lines for an error message. */
  private keepOutput(stream: Readable, print: (line: string) => void): void {
    createInterface(stream).on('line', (line) => {
      print(line);
      this.recentOutput = [...this.recentOutput.slice(-(RECENT_LINES - 1)), line];
    });
  }

  private async status(): Promise<HostStatus> {
    const quiesced = await exists(this.paths.quiesced);
    const deployed = await readJsonFile<DeployedVersion>(this.paths.versionFile).catch(() => undefined);
    const state = this.mf ? 'serving' : quiesced ? 'quiesced' : !deployed ? 'empty' : 'failed';
    return {
      pid: process.pid,
      state,
      url: this.mf ? this.url : undefined,
      version: this.mf ? this.version : deployed?.id,
      error: this.error,
    };
  }
}

const PORT_RETRY_MS = 10_000;

/**
 * A new Miniflare instance. The port may still be held for a moment by the workerd of a
 * host that has just gone (its state directory deleted, or killed): the start is retried
 * while the address is in use.
 */
async function startMiniflare(options: MiniflareOptions): Promise<Miniflare> {
  const deadline = Date.now() + PORT_RETRY_MS;
  for (;;) {
    const mf = new Miniflare(options);
    try {
      await mf.ready;
      return mf;
    } catch (err) {
      await mf.dispose().catch(() => {});
      if (!(err instanceof MiniflareCoreError && err.code === 'ERR_ADDRESS_IN_USE') || Date.now() > deadline)
        throw err;
      await sleep(250);
    }
  }
}

/**
 * Resolves when host.json no longer names this process: the state directory was deleted
 * (the function with it) or another host took over. The host then stops, freeing the port.
 */
export async function untilReplaced(paths: HostPaths, everyMs = 1000): Promise<void> {
  for (;;) {
    await sleep(everyMs);
    const announced = await readJsonFile<HostAnnouncement>(paths.hostJson).catch(() => undefined);
    if (announced?.pid !== process.pid) return;
  }
}

/** The admin API: POST /reload, /quiesce, /resume; GET /status. Answers a HostStatus, 500 with `error` on failure. */
export async function serveAdmin(host: FunctionHost): Promise<{ server: http.Server; url: string }> {
  const routes: Record<string, () => Promise<HostStatus>> = {
    'POST /reload': () => host.reload(),
    'POST /quiesce': () => host.quiesce(),
    'POST /resume': () => host.resume(),
    'GET /status': () => host.current(),
  };
  const server = http.createServer((req, res) => {
    const route = routes[`${req.method} ${req.url}`];
    const answer = (code: number, body: unknown) =>
      res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (!route) return answer(404, { error: `no admin route ${req.method} ${req.url}` });
    route().then(
      (status) => answer(200, status),
      (err: Error) => answer(500, { error: err.message }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Announces the host once its admin API answers: the platform attaches through this file. */
export async function announce(paths: HostPaths, admin: string): Promise<void> {
  await writeJsonFile(paths.hostJson, { pid: process.pid, admin, startedAt: new Date().toISOString() });
}
