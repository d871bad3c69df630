/**
 * Positions in a Redis replication stream. The offset is the master's replication offset:
 * the count of stream bytes before the point. The position text also names the
 * replication id the master used there, which a restarted master may have changed while
 * continuing the same history (psync2: the old id becomes its replid2); a resumed PSYNC
 * must use the newest id, while the lineage stays the id the history began with.
 */
import type { LogPoint } from '../../capture';

export function offsetPoint(replid: string, offset: number, timeMs?: number): LogPoint {
  const point: LogPoint = { position: `${replid}:${offset}`, offset };
  if (timeMs !== undefined) point.time = new Date(timeMs).toISOString();
  return point;
}

/** The replication id a position was taken under; the lineage when it names none. */
export function replidOf(point: LogPoint & { lineage: string }): string {
  const [replid, offset] = point.position.split(':');
  return offset !== undefined && /^[0-9a-f]{40}$/.test(replid) ? replid : point.lineage;
}
