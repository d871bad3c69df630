/**
 * Finds the Temporal CLI (it holds the dev server and the Web UI) or builds it once
 * with Go. Order: $TEMPORAL_CLI_PATH, PATH, Go's bin directory, then `go install`;
 * with no Go, the SDK downloads the server itself (which needs internet).
 */
import type { EphemeralServerExecutable } from '@temporalio/testing/lib/ephemeral-server';
import { type GoTool, type Log, ensureGoTool, findGoTool, hasGo } from '../tools/go-tool';

export const TEMPORAL_CLI: GoTool = {
  name: 'temporal',
  module: 'github.com/temporalio/cli/cmd/temporal@v1.5.1',
  envVar: 'TEMPORAL_CLI_PATH',
};

export function findTemporalCli(): string | undefined {
  return findGoTool(TEMPORAL_CLI);
}

/** The executable for the SDK's dev server: found, built with Go, or downloaded by the SDK. */
export async function ensureTemporalCli(log: Log): Promise<EphemeralServerExecutable> {
  if (!findTemporalCli() && !hasGo()) {
    log('No Temporal CLI and no Go toolchain found: the Temporal SDK will download the dev server.');
    return { type: 'cached-download' };
  }
  return { type: 'existing-path', path: await ensureGoTool(TEMPORAL_CLI, log) };
}

// `node dist/temporal/cli-binary.js` prints the CLI's path, building it first if needed.
if (require.main === module) {
  ensureTemporalCli((m) => console.error(m)).then(
    (exe) => console.log(exe.type === 'existing-path' ? exe.path : 'sdk-download'),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
