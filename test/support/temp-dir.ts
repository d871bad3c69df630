import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A new empty directory under the system's tmp. */
export function tempDir(prefix = 'lazarus-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}
