/**
 * Toxiproxy, a TCP proxy whose faults (latency, cut connections, bandwidth limits) are
 * switched on through its HTTP API: the tests put it between Lazarus and a real server.
 * It installs from the Go module proxy like the Temporal CLI and versitygw; its package is
 * `cmd/server`, so the binary is installed as toxiproxy-server.
 */
import { type GoTool, type Log, ensureGoTool } from './go-tool';

export const TOXIPROXY: GoTool = {
  name: 'toxiproxy-server',
  module: 'github.com/Shopify/toxiproxy/v2/cmd/server@v2.5.0',
  envVar: 'TOXIPROXY_SERVER_PATH',
  builds: 'server',
};

/** The toxiproxy-server executable: found, or built once with Go. */
export function ensureToxiproxy(log: Log): Promise<string> {
  return ensureGoTool(TOXIPROXY, log);
}
