/**
 * `npm run bench:repo`: Lazarus's repository against restic and Borg on the same inputs,
 * in one run, the tools alternating:
 *   (a) pg_dump of a pgbench database at scale 50 (custom format, uncompressed, as the
 *       PostgreSQL adapter takes it);
 *   (b) the same database after a few minutes of pgbench traffic (a second snapshot
 *       into the same repositories);
 *   (c) a source tree of several hundred MB (Go's, at /usr/local/go).
 * Each tool backs up each input, then restores each. Prints a table, then one JSON line
 * with each tool's backup and restore MB/s, stored bytes after each snapshot, and our
 * ratios to restic; then our `verify --read-data` MB/s next to sha256sum over the packs.
 *
 * BENCH_SCALE (50), BENCH_TRAFFIC_SECONDS (180) and BENCH_TREE (/usr/local/go) change
 * the inputs. restic and borgbackup are installed from Debian when missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { adapterFor } from '../datastores/adapters';
import { Repository } from '../repository/repository';

const SCALE = Number(process.env.BENCH_SCALE ?? 50);
const TRAFFIC_SECONDS = Number(process.env.BENCH_TRAFFIC_SECONDS ?? 180);
const TREE = process.env.BENCH_TREE ?? '/usr/local/go';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const PASSWORD = 'bench password';
const DATABASE = 'lz_bench_pgbench';
const PG = ['-h', '127.0.0.1', '-U', 'postgres'];

type Tool = 'lazarus' | 'restic' | 'borg';
const TOOLS: Tool[] = ['lazarus', 'restic', 'borg'];

interface Input {
  name: 'a' | 'b' | 'c';
  label: string;
  /** A file (the dumps) or a directory (the tree). */
  path: string;
  bytes: number;
}

interface Measure {
  backupMBps: number;
  restoreMBps: number;
  storedBytes: number;
}

async function main(): Promise<void> {
  ensureTools();
  const work = mkdtempSync(path.join(os.tmpdir(), 'lazarus-bench-repo-'));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  try {
    const inputs: Input[] = [];
    log(`pgbench at scale ${SCALE}...`);
    preparePgbench();
    inputs.push(await dumpDatabase(work, 'a', `pg_dump, pgbench scale ${SCALE}`));
    log(`pgbench traffic for ${TRAFFIC_SECONDS} s...`);
    execFileSync('pgbench', [...PG, '-c', '4', '-j', '2', '-T', String(TRAFFIC_SECONDS), '-n', DATABASE], {
      stdio: 'ignore',
    });
    inputs.push(await dumpDatabase(work, 'b', `the same after ${TRAFFIC_SECONDS} s of pgbench`));
    inputs.push({ name: 'c', label: `source tree ${TREE}`, path: TREE, bytes: duBytes(TREE) });
    settle(inputs);

    // Each round into fresh repositories; the best round of each tool counts (noise only slows).
    const rounds: Record<Tool, Record<string, Measure>>[] = [];
    let ours = '';
    for (let round = 0; round < ROUNDS; round++) {
      const runners = makeRunners(path.join(work, `round-${round}`));
      rounds.push(await runRound(inputs, runners, round, log));
      ours = runners.lazarus.repo;
    }
    const results = bestOf(rounds);
    const verify = await verifyThroughput(ours);
    printTable(inputs, results);
    console.log(JSON.stringify(summary(inputs, results, verify)));
  } finally {
    await fs.rm(work, { recursive: true, force: true });
    spawnSync('dropdb', [...PG, '--if-exists', DATABASE]);
  }
}

async function runRound(
  inputs: Input[],
  runners: Record<Tool, Runner>,
  round: number,
  log: (line: string) => void,
): Promise<Record<Tool, Record<string, Measure>>> {
  const results: Record<Tool, Record<string, Measure>> = { lazarus: {}, restic: {}, borg: {} };
  for (const [i, input] of inputs.entries()) {
    for (const tool of rotate(TOOLS, i + round)) {
      log(`round ${round + 1}: backup ${input.name} with ${tool}...`);
      const seconds = await timed(() => runners[tool].backup(input));
      results[tool][input.name] = {
        backupMBps: mbps(input.bytes, seconds),
        restoreMBps: 0,
        storedBytes: duBytes(runners[tool].repo),
      };
    }
  }
  for (const [i, input] of inputs.entries()) {
    for (const tool of rotate(TOOLS, i + round + 1)) {
      log(`round ${round + 1}: restore ${input.name} with ${tool}...`);
      const target = path.join(path.dirname(runners[tool].repo), `restore-${tool}-${input.name}`);
      const seconds = await timed(() => runners[tool].restore(input, target));
      results[tool][input.name].restoreMBps = mbps(input.bytes, seconds);
      await fs.rm(target, { recursive: true, force: true });
    }
  }
  return results;
}

function bestOf(rounds: Record<Tool, Record<string, Measure>>[]): Record<Tool, Record<string, Measure>> {
  const best = structuredClone(rounds[0]);
  for (const round of rounds.slice(1)) {
    for (const tool of TOOLS) {
      for (const [input, m] of Object.entries(round[tool])) {
        best[tool][input].backupMBps = Math.max(best[tool][input].backupMBps, m.backupMBps);
        best[tool][input].restoreMBps = Math.max(best[tool][input].restoreMBps, m.restoreMBps);
      }
    }
  }
  return best;
}

/** Lets PostgreSQL finish its checkpoint and vacuum, and puts the inputs in the page cache, for every tool alike. */
function settle(inputs: Input[]): void {
  execFileSync('psql', [...PG, '-q', '-c', 'CHECKPOINT', DATABASE]);
  for (const input of inputs) execFileSync('sh', ['-c', `tar -cf - -C "${dirOf(input)}" . > /dev/null`]);
}

/** restic and borg from Debian, when missing. */
function ensureTools(): void {
  const missing = [
    ['restic', 'restic'],
    ['borg', 'borgbackup'],
  ].filter(([cmd]) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0);
  if (missing.length === 0) return;
  process.stderr.write(`installing ${missing.map(([, pkg]) => pkg).join(', ')} from Debian...\n`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing.map(([, pkg]) => pkg)], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

function preparePgbench(): void {
  spawnSync('dropdb', [...PG, '--if-exists', DATABASE]);
  execFileSync('createdb', [...PG, DATABASE]);
  execFileSync('pgbench', [...PG, '-i', '-q', '-s', String(SCALE), DATABASE], { stdio: 'ignore' });
}

async function dumpDatabase(work: string, name: 'a' | 'b', label: string): Promise<Input> {
  const file = path.join(work, `dump-${name}`, 'pgbench.dump');
  await fs.mkdir(path.dirname(file), { recursive: true });
  execFileSync('pg_dump', [...PG, '--format=custom', '--compress=0', '--file', file, DATABASE]);
  return { name, label, path: file, bytes: (await fs.stat(file)).size };
}

interface Runner {
  repo: string;
  backup(input: Input): Promise<void>;
  restore(input: Input, target: string): Promise<void>;
}

function makeRunners(work: string): Record<Tool, Runner> {
  mkdirSync(work, { recursive: true });
  const env = { ...process.env, RESTIC_PASSWORD: PASSWORD, BORG_PASSPHRASE: PASSWORD };
  const run = (cmd: string, args: string[], cwd?: string): void => {
    execFileSync(cmd, args, { env, cwd, stdio: 'ignore' });
  };
  const resticRepo = path.join(work, 'restic');
  const borgRepo = path.join(work, 'borg');
  run('restic', ['init', '-q', '-r', resticRepo]);
  run('borg', ['init', '-e', 'repokey-blake2', borgRepo]);
  const ours = oursRunner(path.join(work, 'lazarus'));
  return {
    lazarus: ours,
    restic: {
      repo: resticRepo,
      // From the input's directory with a relative path, as the other tools see it.
      backup: async (input) =>
        run('restic', ['backup', '-q', '-r', resticRepo, '--tag', input.name, '.'], dirOf(input)),
      restore: async (input, target) =>
        run('restic', ['restore', '-q', '-r', resticRepo, 'latest', '--tag', input.name, '--target', target]),
    },
    borg: {
      repo: borgRepo,
      // zstd,3 as ours; borg's default is lz4, which stores more.
      backup: async (input) =>
        run('borg', ['create', '--compression', 'zstd,3', `${borgRepo}::${input.name}`, '.'], dirOf(input)),
      restore: async (input, target) => {
        await fs.mkdir(target, { recursive: true });
        run('borg', ['extract', `${borgRepo}::${input.name}`], target);
      },
    },
  };
}

/** Ours, as a worker runs it: open the repository (unlocking the key), store, close. */
function oursRunner(root: string): Runner {
  const refs = new Map<string, Awaited<ReturnType<Repository['storeSnapshot']>>>();
  const ctx = { stagingId: 'bench', signal: new AbortController().signal };
  return {
    repo: root,
    async backup(input) {
      const repo = await Repository.openLocal(root, { password: PASSWORD });
      const source =
        input.name === 'c'
          ? await adapterFor({ kind: 'directory', path: input.path }).snapshot(
              { kind: 'directory', path: input.path },
              ctx,
            )
          : createReadStream(input.path, { highWaterMark: 1 << 20 });
      const ref = await repo.storeSnapshot(source);
      refs.set(input.name, ref);
      // Recorded as a backup, as a run would: verify then walks its tree.
      const at = new Date().toISOString();
      await repo.saveBackup({
        id: input.name,
        app: 'bench',
        workflowId: `bench/${input.name}`,
        startedAt: at,
        completedAt: at,
        status: 'complete',
        services: { [input.name]: { kind: 'directory', snapshot: ref, takenAt: at, verified: false } },
        failures: {},
        dependsOn: {},
      });
      await repo.close();
    },
    async restore(input, target) {
      const repo = await Repository.openLocal(root, { password: PASSWORD });
      const ref = refs.get(input.name)!;
      if (input.name === 'c') {
        await adapterFor({ kind: 'directory', path: target }).restore(
          { kind: 'directory', path: target },
          repo.openSnapshot(ref),
          ctx,
        );
      } else {
        await fs.mkdir(target, { recursive: true });
        await pipeline(repo.openSnapshot(ref), createWriteStream(path.join(target, 'pgbench.dump')));
      }
      await repo.close();
    },
  };
}

/** Our verify --read-data over the packs, and sha256sum over the same files. */
async function verifyThroughput(root: string) {
  const repo = await Repository.openLocal(root, { password: PASSWORD });
  let logicalBytes = 0;
  for (const backup of await repo.listBackups()) {
    for (const service of Object.values(backup.services)) logicalBytes += service.snapshot.size;
  }
  const seconds = await timed(async () => {
    const report = await repo.verify({ readData: true });
    if (report.problems.length > 0)
      throw new Error(`verify found problems: ${JSON.stringify(report.problems)}`);
  });
  await repo.close();
  const packBytes = duBytes(path.join(root, 'data'));
  const sha = await timed(async () => {
    execFileSync('sh', [
      '-c',
      `find "${path.join(root, 'data')}" -type f -print0 | xargs -0 sha256sum > /dev/null`,
    ]);
  });
  // Verify opens, decompresses and re-hashes every chunk: per stored byte it checks many.
  return {
    packBytes,
    logicalBytes,
    verifyReadDataMBps: mbps(packBytes, seconds),
    verifyLogicalMBps: mbps(logicalBytes, seconds),
    sha256sumMBps: mbps(packBytes, sha),
  };
}

function summary(
  inputs: Input[],
  results: Record<Tool, Record<string, Measure>>,
  verify: Awaited<ReturnType<typeof verifyThroughput>>,
) {
  const total = (tool: Tool, key: 'backupMBps' | 'restoreMBps') => {
    // Throughput over all inputs: total bytes over total time.
    const bytes = inputs.reduce((n, i) => n + i.bytes, 0);
    const seconds = inputs.reduce((n, i) => n + i.bytes / 1e6 / results[tool][i.name][key], 0);
    return round(bytes / 1e6 / seconds);
  };
  const tools = Object.fromEntries(
    TOOLS.map((tool) => [
      tool,
      {
        backupMBps: total(tool, 'backupMBps'),
        restoreMBps: total(tool, 'restoreMBps'),
        perInput: results[tool],
        storedBytesAfter: Object.fromEntries(inputs.map((i) => [i.name, results[tool][i.name].storedBytes])),
      },
    ]),
  ) as unknown as Record<
    Tool,
    { backupMBps: number; restoreMBps: number; storedBytesAfter: Record<string, number> }
  >;
  const last = inputs.at(-1)!.name;
  return {
    bench: 'repo',
    inputs: Object.fromEntries(inputs.map((i) => [i.name, { label: i.label, bytes: i.bytes }])),
    tools,
    backupRatioVsRestic: round(tools.lazarus.backupMBps / tools.restic.backupMBps),
    restoreRatioVsRestic: round(tools.lazarus.restoreMBps / tools.restic.restoreMBps),
    storedRatioVsRestic: round(tools.lazarus.storedBytesAfter[last] / tools.restic.storedBytesAfter[last]),
    verify,
    versions: {
      restic: execFileSync('restic', ['version'], { encoding: 'utf8' }).trim(),
      borg: execFileSync('borg', ['--version'], { encoding: 'utf8' }).trim(),
      node: process.version,
      cpus: os.availableParallelism(),
    },
  };
}

function printTable(inputs: Input[], results: Record<Tool, Record<string, Measure>>): void {
  const rows = inputs.flatMap((input) =>
    TOOLS.map((tool) => {
      const m = results[tool][input.name];
      return [input.name, tool, `${m.backupMBps}`, `${m.restoreMBps}`, (m.storedBytes / 2 ** 20).toFixed(1)];
    }),
  );
  const header = ['input', 'tool', 'backup MB/s', 'restore MB/s', 'repo MiB after'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(inputs.map((i) => `${i.name}: ${i.label}, ${(i.bytes / 1e6).toFixed(0)} MB`).join('\n'));
  console.log([line(header), ...rows.map(line)].join('\n'));
}

function dirOf(input: Input): string {
  return input.name === 'c' ? input.path : path.dirname(input.path);
}
function rotate<T>(items: T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
async function timed(work: () => Promise<void> | void): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e9;
}
function mbps(bytes: number, seconds: number): number {
  return round(bytes / 1e6 / seconds);
}
function round(value: number): number {
  return Math.round(value * 100) / 100;
}
function duBytes(dir: string): number {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
