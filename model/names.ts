/** A derived database name within PostgreSQL's 63 and MariaDB's 64 character limits. Pure: workflows use it. */
export function derivedName(base: string, suffix: string): string {
  return `${base.slice(0, 63 - suffix.length - 1)}_${suffix}`;
}
