/**
 * Finds a program that installs with `go install` (the Temporal CLI, the S3 server the
 * tests use) or builds it once. Order: an environment variable naming the executable,
 * PATH, Go's bin directory, then `go install`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export interface GoTool {
  /** The executable's name. */
  name: string;
  /** What `go install` builds: module path @ pinned version. */
  module: string;
  /** An environment variable that may name the executable. */
  envVar: string;
}

export type Log = (message: string) => void;

export function findGoTool(tool: GoTool): string | undefined {
  const fromEnv = process.env[tool.envVar];
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`${tool.envVar}=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const candidates = [
    ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean),
    ...goBinDirectories(),
  ].map((dir) => path.join(dir, tool.name));
  return candidates.find(isExecutable);
}

export function hasGo(): boolean {
  return goBinDirectories().length > 0;
}

/** The executable: found, or built with Go (an error when there is no Go). */
export async function ensureGoTool(tool: GoTool, log: Log): Promise<string> {
  const found = findGoTool(tool);
  if (found) return found;
  if (!hasGo()) throw new Error(`${tool.name} was not found and there is no Go toolchain to build it`);
  log(`Building ${tool.name} with Go (${tool.module}); this happens once and takes a few minutes...`);
  await goInstall(tool, log);
  const built = findGoTool(tool);
  if (!built)
    throw new Error(`go install finished but no ${tool.name} binary was found in Go's bin directory`);
  log(`${tool.name} ready: ${built}`);
  return built;
}

function goInstall(tool: GoTool, log: Log): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('go', ['install', tool.module], { stdio: ['ignore', 'inherit', 'pipe'] });
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
      // "go: downloading ..." lines show that the build is moving.
      for (const line of chunk.toString().split('\n').filter(Boolean)) log(`  ${line}`);
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`go install ${tool.module} failed (${code}):\n${errors}`)),
    );
  });
}

function goBinDirectories(): string[] {
  try {
    const [gobin, gopath] = execFileSync('go', ['env', 'GOBIN', 'GOPATH'], { encoding: 'utf8' }).split('\n');
    return [gobin, ...gopath.split(path.delimiter).map((p) => p && path.join(p, 'bin'))].filter(Boolean);
  } catch {
    return [];
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
