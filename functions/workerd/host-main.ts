/**
 * `node dist/functions/workerd/host-main.js <state dir>`: the host process of one Worker
 * (see host.ts). The platform starts it detached, with its output in lazarus-host/host.log,
 * so it outlives the command that started it.
 */
import { existsSync, promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { announce, FunctionHost, serveAdmin, untilReplaced } from './host';
import { exists, stagingPaths } from '../../datastores/shared/local-paths';
import { DEPLOY_STAGING, hostPaths, type HostPaths } from './layout';

const SETPRIV = '/usr/bin/setpriv';

/**
 * workerd, which Miniflare spawns, outlives a host killed with SIGKILL and keeps the
 * Worker's port, so the next host could not bind it. On Linux it is run under
 * `setpriv --pdeathsig KILL`, through a wrapper Miniflare takes as its workerd binary.
 */
async function tieWorkerdToHost(paths: HostPaths): Promise<void> {
  if (!existsSync(SETPRIV) || process.env.MINIFLARE_WORKERD_PATH) return;
  const fromMiniflare = createRequire(require.resolve('miniflare'));
  const workerd = (fromMiniflare('workerd') as { default: string }).default;
  const wrapper = path.join(paths.hostDir, 'workerd');
  await fs.writeFile(wrapper, `#!/bin/sh\nexec ${SETPRIV} --pdeathsig KILL -- '${workerd}' "$@"\n`, {
    mode: 0o755,
  });
  process.env.MINIFLARE_WORKERD_PATH = wrapper;
}

/**
 * After a deploy that crashed between its two renames, the previous version is put back
 * (staging is left alone: a deploy may be writing it now; the next deploy clears it).
 */
async function restoreSetAside(paths: HostPaths): Promise<void> {
  const { setAside } = stagingPaths(paths.deployed, DEPLOY_STAGING);
  if (!(await exists(paths.deployed)) && (await exists(setAside))) await fs.rename(setAside, paths.deployed);
}

async function main(state: string | undefined): Promise<void> {
  if (!state) throw new Error('usage: host-main.js <state dir>');
  const paths = hostPaths(state);
  await fs.mkdir(paths.hostDir, { recursive: true });
  await tieWorkerdToHost(paths);
  await restoreSetAside(paths);
  process.env.WRANGLER_SEND_METRICS = 'false';
  const host = new FunctionHost(paths);
  // Queued first: a status request that arrives while the Worker starts waits for it.
  host
    .reload()
    .catch((err: Error) => console.error(`host: the deployed version did not start: ${err.message}`));
  const admin = await serveAdmin(host);
  await announce(paths, admin.url);
  console.error(`host ${process.pid}: admin ${admin.url}, state ${paths.state}`);
  const shutdown = () => {
    admin.server.close();
    void host.stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  await untilReplaced(paths);
  console.error(`host ${process.pid}: ${paths.hostJson} no longer names this host; stopping`);
  shutdown();
}

main(process.argv[2]).catch((err: Error) => {
  console.error(`host: ${err.message}`);
  process.exit(1);
});
