/**
 * `npm run bench:memory`: snapshot and restore a directory holding one large file, at
 * several sizes, each in a fresh process, and report the process's peak memory. Flat
 * peak RSS across sizes shows that the data path streams. Prints one JSON line.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adapterFor } from '../datastores/adapters';
import { Repository } from '../repository/repository';

const SIZES_MB = (process.env.BENCH_SIZES_MB ?? '64,256,1024').split(',').map(Number);

async function measure(sizeMb: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-bench-'));
  try {
    await writeRandomFile(path.join(dir, 'source', 'blob.bin'), sizeMb);
    const repo = await Repository.openLocal(path.join(dir, 'repo'));
    const source = { kind: 'directory', path: path.join(dir, 'source') } as const;
    const target = { kind: 'directory', path: path.join(dir, 'target') } as const;
    const adapter = adapterFor(source);
    const ctx = { stagingId: 'bench', signal: new AbortController().signal };
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const t0 = Date.now();
    const ref = await repo.storeSnapshot(await adapter.snapshot(source, ctx));
    const t1 = Date.now();
    await adapter.restore(target, repo.openSnapshot(ref), ctx);
    const t2 = Date.now();
    clearInterval(sampler);
    const mb = ref.size / 2 ** 20;
    return {
      sizeMB: sizeMb,
      peakRssMB: Math.round(peak / 2 ** 20),
      snapshotMBps: Math.round(mb / ((t1 - t0) / 1000)),
      restoreMBps: Math.round(mb / ((t2 - t1) / 1000)),
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function writeRandomFile(file: string, sizeMb: number): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const out = createWriteStream(file);
  const block = randomBytes(2 ** 20);
  for (let i = 0; i < sizeMb; i++) {
    block.writeUInt32BE(i, 0); // every MiB differs
    if (!out.write(Buffer.from(block))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
}

if (process.argv[2] === '--one') {
  measure(Number(process.argv[3])).then(
    (r) => console.log(JSON.stringify(r)),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
} else {
  const results = SIZES_MB.map((mb) =>
    JSON.parse(execFileSync(process.execPath, [__filename, '--one', String(mb)], { encoding: 'utf8' })),
  );
  console.log(JSON.stringify({ bench: 'memory', path: 'directory snapshot + restore', results }));
}
