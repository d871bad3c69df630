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
