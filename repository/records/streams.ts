/**
 * Continuous capture's records: each stream's bases and log files, and the groups'
 * checkpoints (contracts/streams.ts). A log file's record is replaced as the file grows
 * (its bytes are stored again each time; the chunker keeps that cheap) and is final once
 * sealed; bases and checkpoints are written once.
 */
import type { BaseRecord, CheckpointRecord, LogRecord } from '../../contracts/streams';
import {
  checkpointKey,
  checkpointsPrefix,
  streamBaseKey,
  streamLogKey,
  streamLogsPrefix,
  streamsPrefix,
} from '../layout';
import type { SnapshotRef } from '../engine/snapshot-ref';
import type { RecordStore } from './record-store';

/** A stored snapshot a stream needs, and whose it is: what prune keeps and verify reads. */
export interface StreamSnapshot {
  app: string;
  service: string;
  /** `base <id>`, `log <file>`, `marks <file>`. */
  label: string;
  ref: SnapshotRef;
  /** What keeps it outside any backup: a stream (the default) or a function's version. */
  keptBy?: 'stream' | 'function';
}

/** One stream's records. */
export interface StreamContents {
  app: string;
  service: string;
  bases: BaseRecord[];
  logs: LogRecord[];
}

export class StreamRecords {
  constructor(private readonly records: RecordStore) {}

  async bases(app: string, service: string): Promise<BaseRecord[]> {
    const out: BaseRecord[] = [];
    for await (const { record } of this.records.list<BaseRecord>(`${streamsPrefix(app, service)}bases/`))
      out.push(record);
    return out.sort((a, b) => Date.parse(a.consistentAt) - Date.parse(b.consistentAt));
  }

  async logs(app: string, service: string): Promise<LogRecord[]> {
    const out: LogRecord[] = [];
    for await (const { record } of this.records.list<LogRecord>(streamLogsPrefix(app, service)))
      out.push(record);
    return out;
  }

  saveBase(app: string, service: string, base: BaseRecord): Promise<void> {
    return this.records.writeOnce(streamBaseKey(app, service, base.id), base, `base ${base.id} exists`);
  }

  /**
   * Replaces the file's record with one that holds more: a sealed file's record is never
   * replaced by an open one, nor any by one that ends earlier (a resumed tool rewriting
   * the file from its start); the same end again only moves durableAt.
   */
  async saveLog(app: string, service: string, log: LogRecord): Promise<void> {
    const key = streamLogKey(app, service, log.lineage, log.name);
    const stored = await this.records.read<LogRecord>(key);
    if (stored && (stored.end.offset > log.end.offset || (stored.sealed && !log.sealed))) return;
    await this.records.put(key, log);
  }

  removeBase(app: string, service: string, id: string): Promise<void> {
    return this.records.remove(streamBaseKey(app, service, id));
  }

  removeLog(app: string, service: string, log: Pick<LogRecord, 'lineage' | 'name'>): Promise<void> {
    return this.records.remove(streamLogKey(app, service, log.lineage, log.name));
  }

  saveCheckpoint(app: string, checkpoint: CheckpointRecord): Promise<void> {
    const key = checkpointKey(app, checkpoint.group, checkpoint.name);
    return this.records.writeOnce(key, checkpoint, `checkpoint ${checkpoint.name} exists`);
  }

  async checkpoints(app: string, group: string): Promise<CheckpointRecord[]> {
    const out: CheckpointRecord[] = [];
    for await (const { record } of this.records.list<CheckpointRecord>(checkpointsPrefix(app, group)))
      out.push(record);
    return out.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  }

  removeCheckpoint(app: string, checkpoint: CheckpointRecord): Promise<void> {
    return this.records.remove(checkpointKey(app, checkpoint.group, checkpoint.name));
  }

  /** Every stream of every application with its bases and logs, read in one listing. */
  async all(): Promise<StreamContents[]> {
    const byStream = new Map<string, StreamContents>();
    for await (const { key, record } of this.records.list<BaseRecord & LogRecord>(streamsPrefix())) {
      const [, app, service, what] = key.split('/');
      const id = `${app}/${service}`;
      const stream = byStream.get(id) ?? { app, service, bases: [], logs: [] };
      byStream.set(id, stream);
      if (what === 'bases') stream.bases.push(record);
      if (what === 'logs') stream.logs.push(record);
    }
    return [...byStream.values()];
  }
}

/** Every snapshot the streams need: what prune keeps and verify reads. */
export function snapshotsOf(streams: StreamContents[]): StreamSnapshot[] {
  return streams.flatMap(({ app, service, bases, logs }) => [
    ...bases.map((b) => ({ app, service, label: `base ${b.id}`, ref: b.snapshot })),
    ...logs.flatMap((l) => [
      { app, service, label: `log ${l.name}`, ref: l.snapshot },
      { app, service, label: `marks ${l.name}`, ref: l.marks },
    ]),
  ]);
}
