/**
 * Verify's check of continuous capture: a hole in a stream's log is damage, reported with
 * the stream it breaks and where, so that a restore past it is never a surprise.
 */
import { timelineOf } from '../../model/timeline';
import type { StreamContents } from '../records/streams';
import type { VerifyProblem } from './verify';

export function streamProblems(streams: StreamContents[]): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  for (const { app, service, bases, logs } of streams) {
    const timeline = timelineOf(bases, logs);
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
