/** Drill reports, kept beside the backups they checked, for as long as they are. */
import { drillKey, drillsPrefix } from '../layout';
import type { RecordStore } from './record-store';

export class DrillReports {
  constructor(private readonly records: RecordStore) {}

  async save(report: { app: string; workflowId: string }): Promise<void> {
    await this.records.writeOnce(
      drillKey(report.app, report.workflowId),
      report,
      `drill report ${report.workflowId}`,
    );
  }

  find<T>(app: string, workflowId: string): Promise<T | undefined> {
    return this.records.read<T>(drillKey(app, workflowId));
  }

  async list<T>(app: string): Promise<T[]> {
    const reports: T[] = [];
    for await (const { record } of this.records.list<T>(drillsPrefix(app))) reports.push(record);
    return reports;
  }
}
