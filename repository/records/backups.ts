/** The catalog of backups: one write-once record per backup, under catalog/<app>/<id>.json. */
import { nextBackupId } from '../../contracts/ids';
import { UserError } from '../../model/errors';
import { separateRestores } from '../../model/restore-hint';
import { backupKey, catalogPrefix } from '../layout';
import { type BackupEntry, isVerified } from './catalog';
import type { LegalHolds } from './holds';
import type { RecordStore } from './record-store';

export class BackupCatalog {
  constructor(
    private readonly records: RecordStore,
    private readonly holds: LegalHolds,
  ) {}

  async has(app: string, id: string): Promise<boolean> {
    return (await this.records.read<BackupEntry>(backupKey(app, id))) !== undefined;
  }

  /** Writes a catalog entry once; a retry with the same entry is a no-op, a different one is refused. */
  async save(entry: BackupEntry): Promise<void> {
    await this.records.writeOnce(
      backupKey(entry.app, entry.id),
      entry,
      `backup ${entry.app}/${entry.id} is already in the catalog`,
    );
  }

  /**
   * Records a backup, create-only, under its ID, or under the next free millisecond when
   * another run already holds that ID (two backups started in the same millisecond, as tier
   * schedules firing together do): no entry is ever dropped or overwritten. A retry of the
   * same run finds its own record and keeps it. `complete` fills in what depends on the ID's
   * neighbours (change figures) just before the write. Returns the ID recorded.
   */
  async record(
    entry: BackupEntry,
    complete: (entry: BackupEntry) => Promise<BackupEntry> = async (e) => e,
  ): Promise<string> {
    let id = entry.id;
    for (let taken = 0; taken < 1000;) {
      const existing = await this.records.read<BackupEntry>(backupKey(entry.app, id));
      if (existing?.workflowId === entry.workflowId) return id;
      if (existing) {
        taken++;
        id = nextBackupId(id);
        continue;
      }
      const record = await complete({ ...entry, id });
      // Lost a race for this ID: read it again to see whose it is.
      if (await this.records.create(backupKey(entry.app, id), record)) return id;
    }
    throw new Error(`backup ${entry.app}/${entry.id}: no free backup ID within a second of it`);
  }

  /** Removes a backup from the catalog (forget): its data goes at the next prune. Never one under legal hold. */
  async remove(app: string, id: string): Promise<void> {
    const hold = await this.holds.find(app, id);
    if (hold)
      throw new UserError(
        `backup ${app}/${id} is under legal hold (${hold.reason}, by ${hold.by}): it cannot be removed`,
      );
    await this.records.remove(backupKey(app, id));
  }

  /** Every backup of `app` (or of every application), oldest first. */
  async list(app?: string): Promise<BackupEntry[]> {
    const entries: BackupEntry[] = [];
    for await (const { record } of this.records.list<BackupEntry>(catalogPrefix(app))) entries.push(record);
    return entries.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
  }

  /**
   * An application's backups, the latest first, each read only when asked for: a caller
   * after the latest few stops early, where list would read the whole catalog (one GET per
   * backup on S3). Backup IDs are their start times, so the names sort as the runs.
   */
  async *newestFirst(app: string): AsyncGenerator<BackupEntry> {
    const keys: string[] = [];
    for await (const key of this.records.keys(catalogPrefix(app))) keys.push(key);
    for (const key of keys.sort().reverse()) {
      const entry = await this.records.read<BackupEntry>(key);
      if (entry) yield entry;
    }
  }

  /**
   * The named backup, or the latest one whose every snapshot was verified and that holds
   * each of `services` (tiers are backed up on their own schedules, so a backup may hold
   * only some of an application's services).
   */
  async find(app: string, backupId?: string, services: string[] = []): Promise<BackupEntry> {
    if (backupId) {
      const entry = await this.records.read<BackupEntry>(backupKey(app, backupId));
      if (!entry) throw new UserError(`no backup "${backupId}" of application "${app}" in the repository`);
      return entry;
    }
    const passedOver: BackupEntry[] = [];
    for await (const entry of this.newestFirst(app)) {
      if (!isVerified(entry)) continue;
      if (services.every((s) => entry.services[s])) return entry;
      passedOver.push(entry);
    }
    if (passedOver.length > 0)
      throw new UserError(
        `no verified backup of "${app}" holds all of ${[...services].sort().join(', ')} ` +
          `(tiers backed up apart were taken at different moments): ${separateRestores(passedOver.reverse(), services)}`,
      );
    throw new UserError(`application "${app}" has no verified backup yet: run "lazarus backup" first`);
  }
}
