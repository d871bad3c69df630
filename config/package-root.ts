import { existsSync } from 'node:fs';
import path from 'node:path';

/** The folder of Lazarus's package.json, whether running from dist/ or from source. */
export function packageRoot(from = __dirname): string {
  let dir = from;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
  return dir;
}
