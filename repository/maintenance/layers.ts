/**
 * The layers a maintenance job works on, as a Repository holds them; each job takes
 * only the ones it uses, so it can run over any repository built of them.
 */
import type { EngineParts } from '../engine/parts';
import type { BackupCatalog } from '../records/backups';
import type { DrillReports } from '../records/drills';
import type { RecordStore } from '../records/record-store';
import type { StreamRecords } from '../records/streams';
import type { FunctionRecords } from '../records/functions';

export interface RepositoryLayers {
  readonly engine: EngineParts;
  readonly catalog: BackupCatalog;
  readonly drills: DrillReports;
  /** Continuous capture's bases and logs: their snapshots are kept and checked like backups'. */
  readonly streams: StreamRecords;
  /** Function versions: their bundles are kept and checked like backups'. */
  readonly functions: FunctionRecords;
  /** For the repository lock (records/locks.ts). */
  readonly records: RecordStore;
}
