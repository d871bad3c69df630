import { derivedName } from '../../model/names';

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
