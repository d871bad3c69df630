/**
 * The base: mariadb-dump of the store's database in one consistent transaction, with the
 * binlog file:position and the GTID state of that transaction's snapshot (--master-data=2
 * --gtid write them as comments, the GTID after the data). The dump streams through; only
 * a short tail is kept between chunks to find those comments.
 */
import { createReadStream } from 'node:fs';
import { Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BaseCopy, LogPoint } from '../../capture';
import { commandOutput } from '../../shared/process';
import { gtidInDomain, logPoint, type BinlogPos } from './points';
import { lineage, type MariadbStore, toolConnection, toolEnv, withServer } from './server';

const FILE_POS = /(?:^|\n)-- CHANGE MASTER TO MASTER_LOG_FILE='([^']+)', MASTER_LOG_POS=(\d+);/;
const GTID_POS = /(?:^|\n)-- SET GLOBAL gtid_slave_pos='([^']*)';/;
/** Longer than either comment line: a match split across two chunks is still found. */
const CARRY = 512;

export async function takeBase(store: MariadbStore, options: { signal: AbortSignal }): Promise<BaseCopy> {
  const source = await withServer(store, lineage);
  const dump = commandOutput({
    cmd: 'mariadb-dump',
    args: [
      ...toolConnection(store),
      '--single-transaction',
      '--master-data=2',
      '--gtid',
      '--routines',
      '--events',
      '--hex-blob',
      '--skip-dump-date',
      // The database's own CREATE and USE: a replay loads it into an empty server.
      '--databases',
      store.database,
    ],
    env: toolEnv(store),
    signal: options.signal,
  });
  const scan = new ConsistentPointScan();
  const data = dump.pipe(scan);
  dump.on('error', (err) => data.destroy(err));
  const done = new Promise<{ start: LogPoint; end: LogPoint; lineage: string }>((resolve, reject) => {
    data.on('error', reject);
    data.on('end', () => {
      if (!scan.at)
        return reject(
          new Error('mariadb-dump wrote no binlog position (--master-data=2): is log_bin on? see preflight'),
        );
      // One snapshot transaction: the copy is consistent at a single point.
      const point = logPoint(gtidInDomain(scan.gtid ?? '', source.domain), scan.at);
      resolve({ start: point, end: point, lineage: source.lineage });
    });
  });
  done.catch(() => {}); // the caller awaits it after reading the data
  return { data, done };
}

/** Passes the dump through and picks the consistent point's comments out of it. */
class ConsistentPointScan extends Transform {
  at?: BinlogPos;
  gtid?: string;
  private tail = '';

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const text = this.tail + chunk.toString('latin1');
    const file = this.at ? null : FILE_POS.exec(text);
    if (file) this.at = { file: file[1], pos: Number(file[2]) };
    const gtid = this.gtid === undefined ? GTID_POS.exec(text) : null;
    if (gtid) this.gtid = gtid[1];
    this.tail = text.slice(-CARRY);
    callback(null, chunk);
  }
}

/** The consistent point of a dump file, read from its comments (streamed, not loaded). */
export async function basePoint(file: string): Promise<BinlogPos & { gtidList: string }> {
  const scan = new ConsistentPointScan();
  await pipeline(createReadStream(file), scan, new Writable({ write: (_chunk, _enc, next) => next() }));
  if (!scan.at)
    throw new Error(
      `mariadb: ${file} is not a base taken for capture (no --master-data binlog position in it)`,
    );
  return { ...scan.at, gtidList: scan.gtid ?? '' };
}
