/**
 * PostgreSQL's continuous capture: pg_receivewal on a physical slot into the spool, a
 * pg_basebackup tar as the base, and recovery to a time, LSN, restore point or the end
 * of the log on a scratch server. Lineage: `<system_identifier>/<timeline>`.
 */
import type { CaptureEngine } from '../../capture';
import { takeBase } from './base';
import { identifySystem, withSql, type PostgresStore } from './connection';
import { preflight } from './preflight';
import { replay } from './replay';
import { startCapture } from './session';
import { dropSlot, slotName } from './slot';
import { lineageOf, lsnToOffset, pointAt } from './wal';

export type { PostgresRecovered } from './replay';

export const postgresCaptureEngine: CaptureEngine<PostgresStore> = {
  kind: 'postgres',
  preflight,

  async head(store) {
    // The flush position: everything the source has acknowledged as committed.
    const { systemId, timeline, flushLsn } = await identifySystem(store);
    return {
      ...pointAt(lsnToOffset(flushLsn), new Date().toISOString()),
      lineage: lineageOf(systemId, timeline),
    };
  },

  takeBase: (store, { signal }) => takeBase(store, signal),
  capture: startCapture,
  replay,

  async mark(store, name) {
    const { systemId, timeline } = await identifySystem(store);
    return withSql(store, async (client) => {
      // In a transaction with an xid: its commit flushes the restore point's record, so
      // the mark reaches the capture now, not whenever the next write happens.
      await client.query('BEGIN');
      const { rows } = await client.query<{ lsn: string; time: string }>(
        `SELECT pg_create_restore_point($1)::text AS lsn, txid_current(),
                to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS time`,
        [name],
      );
      await client.query('COMMIT');
      return { ...pointAt(lsnToOffset(rows[0].lsn), rows[0].time), lineage: lineageOf(systemId, timeline) };
    });
  },

  release: (store, streamName) => withSql(store, (client) => dropSlot(client, slotName(streamName))),
};
