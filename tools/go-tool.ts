/**
 * Finds a program that installs with `go install` (the Temporal CLI, the servers the
 * tests start) or builds it once. Order: an environment variable naming the executable,
 * PATH, Go's bin directory, then `go install` (or a build of a module directory of ours,
 * `source`). Go itself is found on PATH or where the
 * official archive puts it, /usr/local/go, whose bin directory only a login shell's
 * profile adds to PATH.
 */
import { execFileSync, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isExecutable, pathDirectories } from './executables';

export interface GoTool {
  /** The executable's name. */
  name: string;
  /** What `go install` builds: module path @ pinned version. */
  module: string;
  /** An environment variable that may name the executable. */
  envVar: string;
  /**
   * The name `go install` gives the binary (its package directory's) when that is not
   * `name`; the build is renamed to `name`, since a `server` on PATH says nothing.
   */
  builds?: string;
  /**
   * Built from a module directory of ours instead of `go install module`: for a program
   * whose own build needs files its module does not ship (FerretDB's version.txt).
   */
  source?: GoSource;
}

/** A module directory whose dependencies are vendored, patched with `vendorFiles`, then built. */
export interface GoSource {
  /** The directory holding go.mod and go.sum. */
  dir: string;
  /** The main package to build. */
  package: string;
  /** Files written under vendor/ before the build (path relative to vendor/ -> content). */
  vendorFiles?: Record<string, string>;
}

export type Log = (message: string) => void;

const OFFICIAL_GO = '/usr/local/go/bin/go';

export function goExecutable(): string | undefined {
  return [...pathDirectories().map((dir) => path.join(dir, 'go')), OFFICIAL_GO].find(isExecutable);
}

export function hasGo(): boolean {
  return goExecutable() !== undefined;
}

export function findGoTool(tool: GoTool): string | undefined {
  const fromEnv = process.env[tool.envVar];
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`${tool.envVar}=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const candidates = [...pathDirectories(), ...goBinDirectories()].map((dir) => path.join(dir, tool.name));
  return candidates.find(isExecutable) ?? builtUnderPackageName(tool);
}

/** The executable: found, or built with Go (an error when there is no Go). */
export async function ensureGoTool(tool: GoTool, log: Log): Promise<string> {
  const found = findGoTool(tool);
  if (found) return found;
  const go = goExecutable();
  if (!go)
    throw new Error(
      `${tool.name} was not found and there is no Go toolchain to build it: install Go (https://go.dev/dl/) or set ${tool.envVar}`,
    );
  log(`Building ${tool.name} with Go (${tool.module}); this happens once and takes a few minutes...`);
  await goInstall(go, tool, log);
  const built = findGoTool(tool);
  if (!built)
    throw new Error(`go install finished but no ${tool.name} binary was found in Go's bin directory`);
  log(`${tool.name} ready: ${built}`);
  return built;
}

/**
 * Builds into a directory of its own beside Go's bin directory, then renames: the binary
 * gets its name, and a build cut short never leaves a half-written executable behind.
 */
async function goInstall(go: string, tool: GoTool, log: Log): Promise<void> {
  const binDir = goBinDirectories()[0];
  if (!binDir) throw new Error(`${go} env GOPATH names no directory to install ${tool.name} into`);
  await fs.mkdir(binDir, { recursive: true });
  const staging = await fs.mkdtemp(path.join(binDir, `.${tool.name}-`));
  try {
    if (tool.source) await buildFromSource(go, tool.source, staging, tool.name, log);
    else await runGo(go, ['install', tool.module], { env: { GOBIN: staging } }, log);
    await fs.rename(path.join(staging, tool.builds ?? tool.name), path.join(binDir, tool.name));
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

/** A copy of the source directory, its modules vendored and patched, built into `outDir/name`. */
async function buildFromSource(go: string, source: GoSource, outDir: string, name: string, log: Log) {
  const work = path.join(outDir, 'src');
  await fs.cp(source.dir, work, { recursive: true });
  await runGo(go, ['mod', 'vendor'], { cwd: work }, log);
  for (const [file, content] of Object.entries(source.vendorFiles ?? {}))
    await fs.writeFile(path.join(work, 'vendor', file), content);
  const output = path.join(outDir, name);
  await runGo(go, ['build', '-mod=vendor', '-o', output, source.package], { cwd: work }, log);
}

function runGo(
  go: string,
  args: string[],
  { env, cwd }: { env?: Record<string, string>; cwd?: string },
  log: Log,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(go, args, {
      env: { ...process.env, ...env },
      cwd,
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
      // "go: downloading ..." lines show that the build is moving.
      for (const line of chunk.toString().split('\n').filter(Boolean)) log(`  ${line}`);
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`go ${args.join(' ')} failed (${code}):\n${errors}`)),
    );
  });
}

/** A binary that a plain `go install` of this module left under its package's name. */
function builtUnderPackageName(tool: GoTool): string | undefined {
  if (!tool.builds) return undefined;
  const file = goBinDirectories()
    .map((dir) => path.join(dir, tool.builds!))
    .find(isExecutable);
  return file && builtFrom(file, tool.module) ? file : undefined;
}

/** Whether `go version -m` names the module's package and version as what built the file. */
function builtFrom(file: string, module: string): boolean {
  const [pkg, version] = module.split('@');
  try {
    const fields = execFileSync(goExecutable()!, ['version', '-m', file], { encoding: 'utf8' })
      .split('\n')
      .map((line) => line.trim().split(/\s+/));
    return (
      fields.some(([key, value]) => key === 'path' && value === pkg) &&
      fields.some(([key, , value]) => key === 'mod' && value === version)
    );
  } catch {
    return false;
  }
}

let binDirectories: string[] | undefined;

/** GOBIN, else each GOPATH entry's bin: asked of Go once per process (`go env` takes a while). */
function goBinDirectories(): string[] {
  const go = goExecutable();
  if (!go) return [];
  if (binDirectories) return binDirectories;
  try {
    const [gobin, gopath] = execFileSync(go, ['env', 'GOBIN', 'GOPATH'], { encoding: 'utf8' }).split('\n');
    binDirectories = [gobin, ...gopath.split(path.delimiter).map((p) => p && path.join(p, 'bin'))].filter(
      Boolean,
    );
  } catch {
    binDirectories = [];
  }
  return binDirectories;
}
