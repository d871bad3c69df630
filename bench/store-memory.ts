/**
 * `npm run build && node --expose-gc dist/bench/store-memory.js`: stores N MB of random
 * bytes with `storeSnapshot` into a local repository, the stream arriving in 64 KiB pieces
 * or as one piece, each run in a fresh process, and reports how much memory the store
 * took above the process's resting level. Prints one JSON line.
 *
 * Two figures per run, from two processes: the peaks sampled every 5 ms (what the system
 * sees, garbage not yet collected included), and `retainedMB`, the heap and external
 * memory still reachable after a forced GC at every 4 MB stored: what the writer holds.
 * A retained figure that grows with N is a leak of the data path; peaks above a flat
 * retained figure are GC lag.
 *
 * `--one <MB> <pieceKiB|whole> [packMiB] [--retained]` measures one run (the
 * integration test runs it so).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Repository } from '../repository/repository';

const MiB = 2 ** 20;
const SIZES_MB = (process.env.BENCH_SIZES_MB ?? '50,200').split(',').map(Number);
const PIECES = ['64', 'whole'];
const GC_EVERY = 4 * MiB;

/** N MB of random bytes: pieces made as they are read, or one Buffer made before. */
function source(sizeMb: number, piece: string): Readable {
  if (piece === 'whole') return Readable.from([randomBytes(sizeMb * MiB)], { objectMode: false });
  const size = Number(piece) * 1024;
  let left = sizeMb * MiB;
  return new Readable({
    read() {
      const n = Math.min(size, left);
      left -= n;
      this.push(n > 0 ? randomBytes(n) : null);
    },
  });
}

export interface StoreMemory {
  sizeMB: number;
  piece: string;
  packMiB?: number;
  rssMB: number;
  heapMB: number;
  externalMB: number;
  retainedMB?: number;
  seconds: number;
}

async function measure(sizeMb: number, piece: string, packMiB: number | undefined, retained: boolean) {
  const gc = global.gc;
  if (!gc) throw new Error('run with node --expose-gc');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-bench-store-'));
  const repo = await Repository.openLocal(path.join(dir, 'repo'), packMiB ? { packSize: packMiB * MiB } : {});
  try {
    const data = source(sizeMb, piece);
    gc();
    const base = process.memoryUsage();
    const peak = { rss: 0, heap: 0, external: 0, retained: 0 };
    const sample = () => {
      const m = process.memoryUsage();
      peak.rss = Math.max(peak.rss, m.rss - base.rss);
      peak.heap = Math.max(peak.heap, m.heapUsed - base.heapUsed);
      peak.external = Math.max(peak.external, m.external - base.external);
    };
    let nextGc = 0;
    const checkpoint = (bytes: number) => {
      if (!retained || bytes < nextGc) return;
      nextGc = bytes + GC_EVERY;
      gc();
      const m = process.memoryUsage();
      peak.retained = Math.max(peak.retained, m.heapUsed + m.external - base.heapUsed - base.external);
    };
    const sampler = setInterval(sample, 5);
    const t0 = Date.now();
    await repo.storeSnapshot(data, (bytes) => (sample(), checkpoint(bytes)));
    clearInterval(sampler);
    sample();
    const mb = (n: number) => Math.round(n / MiB);
    const result: StoreMemory = {
      sizeMB: sizeMb,
      piece: piece === 'whole' ? 'whole' : `${piece} KiB`,
      ...(packMiB ? { packMiB } : {}),
      rssMB: mb(peak.rss),
      heapMB: mb(peak.heap),
      externalMB: mb(peak.external),
      ...(retained ? { retainedMB: mb(peak.retained) } : {}),
      seconds: (Date.now() - t0) / 1000,
    };
    return result;
  } finally {
    await repo.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** One run in a fresh process, so that no run inherits another's heap. */
export function measureInChild(script: string, args: string[]): StoreMemory {
  const out = execFileSync(process.execPath, ['--expose-gc', script, '--one', ...args], { encoding: 'utf8' });
  return JSON.parse(out) as StoreMemory;
}

if (require.main === module) {
  const [flag, size, piece, pack] = process.argv.slice(2);
  if (flag === '--one') {
    const packMiB = pack && pack !== '--retained' ? Number(pack) : undefined;
    measure(Number(size), piece, packMiB, process.argv.includes('--retained')).then(
      (r) => console.log(JSON.stringify(r)),
      (err: Error) => {
        console.error(err.message);
        process.exit(1);
      },
    );
  } else {
    const results = SIZES_MB.flatMap((mb) =>
      PIECES.map((p) => {
        const peaks = measureInChild(__filename, [String(mb), p]);
        const { retainedMB } = measureInChild(__filename, [String(mb), p, '--retained']);
        return { ...peaks, retainedMB };
      }),
    );
    console.log(JSON.stringify({ bench: 'store-memory', path: 'storeSnapshot of random bytes', results }));
  }
}
