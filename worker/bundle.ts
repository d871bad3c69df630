/**
 * Bundles the workflow code once at build time: a worker then starts in a second
 * instead of running webpack on every start.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { packageRoot } from '../config/package-root';

/** Written by `npm run build`; found the same way from dist/ and from the TypeScript sources. */
export const BUNDLE_PATH = path.join(packageRoot(), 'dist', 'workflow-bundle.js');
export const WORKFLOWS_PATH = require.resolve('../workflows');

if (require.main === module) {
  bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger() }).then(
    ({ code }) => writeFileSync(BUNDLE_PATH, code),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}

function quietLogger() {
  const noop = () => {};
  return { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };
}
