/** Legal holds (kopia's pins): a backup under hold is kept by forget, and removed by nothing, until released. */
import { UserError } from '../../model/errors';
import { heldBackupOf, holdKey, holdsPrefix } from '../layout';
import type { RecordStore } from './record-store';

export interface LegalHold {
  reason: string;
  by: string;
  placedAt: string;
}

export class LegalHolds {
  constructor(private readonly records: RecordStore) {}

  find(app: string, id: string): Promise<LegalHold | undefined> {
    return this.records.read<LegalHold>(holdKey(app, id));
  }

  /** Places (or places again) a hold on a backup; the caller has checked that it exists. */
  async place(app: string, id: string, hold: Omit<LegalHold, 'placedAt'>): Promise<LegalHold> {
    const placed = { ...hold, placedAt: new Date().toISOString() };
    await this.records.put(holdKey(app, id), placed);
    return placed;
  }

  async release(app: string, id: string): Promise<void> {
    if (!(await this.find(app, id))) throw new UserError(`backup ${app}/${id} is not under legal hold`);
    await this.records.remove(holdKey(app, id));
  }

  /** An application's holds, by backup ID. */
  async list(app: string): Promise<Record<string, LegalHold>> {
    const holds: Record<string, LegalHold> = {};
    for await (const { key, record } of this.records.list<LegalHold>(holdsPrefix(app)))
      holds[heldBackupOf(app, key)] = record;
    return holds;
  }
}
