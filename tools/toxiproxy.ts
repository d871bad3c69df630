/**
 * toxiproxy, a TCP proxy that makes a connection refuse, reset, stall or slow down on
 * demand: how the fault tests make a datastore or S3 misbehave. Built once with Go.
 */
import { type GoTool, type Log, ensureGoTool } from './go-tool';

export const TOXIPROXY: GoTool = {
  name: 'server',
  module: 'github.com/Shopify/toxiproxy/v2/cmd/server@v2.5.0',
  envVar: 'TOXIPROXY_PATH',
};

export function ensureToxiproxy(log: Log): Promise<string> {
  return ensureGoTool(TOXIPROXY, log);
}
