/**
 * Capture lag (RPO) in seconds, defined the same way for every tool: how long ago the
 * first WAL byte that is not yet durable in the tool's repository was written. A history
 * of the source's head (pg_current_wal_lsn) with the time each was read says when a byte
 * was written, interpolated between two readings; each tool's durable offset is read just
 * before the head, every `everyMs`.
 */
import type { Client } from 'pg';
import { lsnToOffset } from '../../datastores/postgres/capture/wal';

export type DurableReader = () => Promise<number | undefined>;

interface HeadReading {
  at: number;
  offset: number;
}

export class RpoSampler {
  private readonly heads: HeadReading[] = [];
  private readonly lags = new Map<string, number[]>();
  private readonly latest = new Map<string, number>();
  private recording = false;
  private running = false;
  private loop?: Promise<void>;
  /** Ticks that took longer than the period (the figures are then coarser than asked). */
  late = 0;
  /** Durable points that could not be read (their tick has no sample for that tool). */
  failedReads = 0;
  private failure?: Error;

  constructor(
    private readonly client: Client,
    private readonly readers: Record<string, DurableReader>,
    private readonly everyMs = 200,
  ) {
    for (const name of Object.keys(readers)) this.lags.set(name, []);
  }

  /** Starts reading heads (and durable points); lags are kept only while `record` is on. */
  start(): void {
    this.running = true;
    this.loop = this.poll();
  }

  record(on: boolean): void {
    this.recording = on;
  }

  /** Ends the readings; fails if the source's head could not be read (the figures would be short). */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    if (this.failure) throw new Error(`sampling the source's head failed: ${this.failure.message}`);
  }

  private async head(): Promise<string> {
    const { rows } = await this.client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    return rows[0].lsn;
  }

  lagsOf(name: string): number[] {
    return this.lags.get(name) ?? [];
  }

  durableOf(name: string): number | undefined {
    return this.latest.get(name);
  }

  headNow(): number {
    return this.heads[this.heads.length - 1]?.offset ?? 0;
  }

  private async poll(): Promise<void> {
    while (this.running) {
      const tick = Date.now();
      // A reading that fails (a record being replaced as it is read) skips this tick's sample.
      const durable = await Promise.all(
        Object.values(this.readers).map((read) =>
          read().catch(() => {
            this.failedReads++;
            return undefined;
          }),
        ),
      );
      const lsn = await this.head().catch((err: Error) => {
        this.failure = err;
        this.running = false;
        return undefined;
      });
      if (lsn === undefined) return;
      const now = Date.now();
      this.heads.push({ at: now, offset: lsnToOffset(lsn) });
      Object.keys(this.readers).forEach((name, i) => {
        const offset = durable[i];
        if (offset === undefined) return;
        this.latest.set(name, offset);
        if (this.recording) this.lags.get(name)!.push((now - this.writtenAt(offset)) / 1000);
      });
      const spent = Date.now() - tick;
      if (spent > this.everyMs) this.late++;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, this.everyMs - spent)));
    }
  }

  /** When the byte at `offset` was written: now, if the head has not passed it yet. */
  private writtenAt(offset: number): number {
    const last = this.heads[this.heads.length - 1];
    if (offset >= last.offset) return last.at;
    const i = this.heads.findIndex((h) => h.offset > offset);
    if (i === 0) return this.heads[0].at; // before the history began: at least this old
    const before = this.heads[i - 1];
    const after = this.heads[i];
    return before.at + ((offset - before.offset) / (after.offset - before.offset)) * (after.at - before.at);
  }
}
