/**
 * A backup's ID is its run's start time in ISO 8601 without "-" and ":", such as
 * 20261121T100000.000Z: IDs sort as the runs did, and are safe in a repository key.
 * Pure: the backup workflow names its backup with it.
 */
export function backupIdAt(startedAt: Date): string {
  return startedAt.toISOString().replace(/[-:]/g, '');
}

const BACKUP_ID = /^\d{8}T\d{6}\.\d{3}Z$/;

export function isBackupId(text: string): boolean {
  return BACKUP_ID.test(text);
}

/** The ID one millisecond later: where a backup goes when another run took its ID. */
export function nextBackupId(id: string): string {
  const iso = id.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})/, '$1-$2-$3T$4:$5:$6');
  const at = Date.parse(iso);
  if (!isBackupId(id) || Number.isNaN(at)) throw new Error(`backup ID ${id} is not a time`);
  return backupIdAt(new Date(at + 1));
}
