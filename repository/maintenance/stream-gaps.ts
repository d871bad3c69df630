/**
 * Verify's check of continuous capture: a hole in a stream's log is damage, reported with
 * the stream it breaks and where, so that a restore past it is never a surprise.
 */
import { timelineOf } from '../../model/timeline';
import type { StreamRecords, StreamSnapshot } from '../records/streams';
import type { VerifyProblem } from './verify';

export async function streamProblems(
  records: StreamRecords,
  snapshots: StreamSnapshot[],
): Promise<VerifyProblem[]> {
  const streams = new Map(snapshots.map((s) => [`${s.app}/${s.service}`, s]));
  const problems: VerifyProblem[] = [];
  for (const { app, service } of streams.values()) {
    const timeline = timelineOf(await records.bases(app, service), await records.logs(app, service));
    for (const gap of timeline.gaps) {
      problems.push({
        subject: `stream ${app}/${service}`,
        problem:
          `the log has a gap on ${gap.lineage}: ${gap.bytes} bytes missing after ${gap.after.file} ` +
          `(captured until ${gap.after.time}) before ${gap.before.file}; no restore to a time past it is possible until a new base`,
        affects: [{ app, backupId: 'stream', service }],
      });
    }
  }
  return problems;
}
