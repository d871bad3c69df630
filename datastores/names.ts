/** A derived database name within PostgreSQL's 63 and MariaDB's 64 character limits. */
export function derivedName(base: string, suffix: string): string {
  return `${base.slice(0, 63 - suffix.length - 1)}_${suffix}`;
}

/**
 * The staging database a restore fills, and the name the replaced database is set aside
 * under during the swap: derived from the run, so a retry finds an earlier attempt's.
 */
export function stagingDatabases(database: string, stagingId: string): { staging: string; setAside: string } {
  return {
    staging: derivedName(database, `lzs_${stagingId}`),
    setAside: derivedName(database, `lzo_${stagingId}`),
  };
}
