/**
 * Function versions (contracts/functions.ts): one record per version, named by its
 * content-derived ID and written once, so capturing an unchanged function again (a
 * retry, a second worker, the watcher and a backup at once) writes nothing new.
 * Versions are kept until removed on purpose: the last good artifact is what a rollback needs.
 */
import type { VersionRecord } from '../../contracts/functions';
import { functionVersionKey, functionsPrefix } from '../layout';
import type { RecordStore } from './record-store';
import type { StreamSnapshot } from './streams';

export class FunctionRecords {
  constructor(private readonly records: RecordStore) {}

  /**
   * Records a version unless it is recorded already; true when this call recorded it. The
   * first sighting is kept: a later one (another source, another time) changes nothing.
   */
  async save(record: VersionRecord): Promise<boolean> {
    return this.records.create(functionVersionKey(record.app, record.service, record.version.id), record);
  }

  get(app: string, service: string, id: string): Promise<VersionRecord | undefined> {
    return this.records.read<VersionRecord>(functionVersionKey(app, service, id));
  }

  /** A service's versions, oldest first. */
  async versions(app: string, service: string): Promise<VersionRecord[]> {
    return sortedByFirstSeen(await this.under(`${functionsPrefix(app, service)}versions/`));
  }

  /** Every application's versions, for prune and verify. */
  all(): Promise<VersionRecord[]> {
    return this.under(functionsPrefix());
  }

  private async under(prefix: string): Promise<VersionRecord[]> {
    const out: VersionRecord[] = [];
    for await (const { record } of this.records.list<VersionRecord>(prefix)) out.push(record);
    return out;
  }
}

function sortedByFirstSeen(records: VersionRecord[]): VersionRecord[] {
  return records.sort((a, b) => Date.parse(a.firstSeenAt) - Date.parse(b.firstSeenAt));
}

/** The bundles versions keep: what prune must not delete and verify reads. */
export function bundlesOf(versions: VersionRecord[]): StreamSnapshot[] {
  return versions.map((v) => ({
    app: v.app,
    service: v.service,
    label: `version ${v.version.id}`,
    ref: v.bundle,
    keptBy: 'function',
  }));
}
