/** The physical replication slot a stream keeps on the source: WAL waits there while capture is down. */
import type { Client } from 'pg';

/** A slot name from a stream name: lower case letters, digits and underscores, at most 63. */
export function slotName(streamName: string): string {
  const name = streamName
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 63);
  if (!name) throw new Error(`capture stream name "${streamName}" gives no replication slot name`);
  return name;
}

interface SlotRow {
  slot_type: string;
  active_pid: number | null;
  wal_status: string | null;
}

/** Creates the physical slot (reserving WAL at once) unless it is there; refuses one that cannot serve. */
export async function ensureSlot(client: Client, slot: string): Promise<void> {
  const found = await readSlot(client, slot);
  if (!found) {
    await client.query('SELECT pg_create_physical_replication_slot($1, true)', [slot]);
    return;
  }
  if (found.slot_type !== 'physical')
    throw new Error(
      `replication slot "${slot}" on the source is ${found.slot_type}, not physical: drop it or name the stream otherwise`,
    );
  if (found.wal_status === 'lost')
    throw new Error(
      `replication slot "${slot}" lost WAL the capture had not received (max_slot_wal_keep_size was exceeded): the log has a gap; take a new base, then SELECT pg_drop_replication_slot('${slot}') to start again`,
    );
  if (found.active_pid !== null)
    throw new Error(
      `replication slot "${slot}" is in use by process ${found.active_pid} on the source: another capture of this stream runs`,
    );
}

/**
 * The slot, once no process holds it: the previous session's walsender may still be
 * noticing that its pg_receivewal is gone (up to 10 s is waited for).
 */
async function readSlot(client: Client, slot: string): Promise<SlotRow | undefined> {
  for (let waited = 0; ; waited += 250) {
    const { rows } = await client.query<SlotRow>(
      'SELECT slot_type, active_pid, wal_status FROM pg_replication_slots WHERE slot_name = $1',
      [slot],
    );
    if (rows[0]?.active_pid == null || waited >= 10_000) return rows[0];
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function dropSlot(client: Client, slot: string): Promise<void> {
  await client.query(
    'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  );
}
