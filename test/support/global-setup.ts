/**
 * One real Temporal dev server for the whole suite (the CLI is found or built with Go,
 * as for users). Its address reaches the tests through the environment.
 */
import { startDevServer, DevServer } from '../../temporal/dev-server';

declare global {
  var lazarusTestServer: DevServer | undefined;
}

export default async function globalSetup(): Promise<void> {
  const server = await startDevServer({ log: (m) => console.error(m) });
  globalThis.lazarusTestServer = server;
  process.env.LAZARUS_TEST_TEMPORAL_ADDRESS = server.address;
}
