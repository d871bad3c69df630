/** The embedded default: a local Temporal dev server with a persistent SQLite file and the Web UI. */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { allSearchAttributes } from '../workflows/search-attributes';
import { ensureTemporalCli } from './cli-binary';

export interface DevServer {
  address: string;
  uiUrl?: string;
  env: TestWorkflowEnvironment;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  /** Keeps the server's SQLite file; omitted: everything lives in memory. */
  stateDir?: string;
  port?: number;
  /** Serves the Web UI on this port; omitted: no UI. */
  uiPort?: number;
  log: (message: string) => void;
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const executable = await ensureTemporalCli(options.log);
  let dbFilename: string | undefined;
  if (options.stateDir) {
    mkdirSync(options.stateDir, { recursive: true });
    dbFilename = path.join(options.stateDir, 'temporal.db');
  }
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable,
      ip: '127.0.0.1',
      port: options.port,
      dbFilename,
      ui: options.uiPort !== undefined,
      uiPort: options.uiPort,
      searchAttributes: allSearchAttributes,
      log: { format: 'pretty', level: 'warn' },
    },
  });
  const address = env.address;
  return {
    address,
    uiUrl: options.uiPort !== undefined ? `http://127.0.0.1:${options.uiPort}` : undefined,
    env,
    stop: () => env.teardown(),
  };
}
