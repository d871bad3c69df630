/** Where each kind of record lives in a repository. */

export function packKey(id: string): string {
  return `data/${id.slice(0, 2)}/${id}`;
}
/** A first-format snapshot: one object named by the SHA-256 of its bytes. */
export function legacyObjectKey(sha256: string): string {
  return `objects/${sha256.slice(0, 2)}/${sha256}`;
}
export function backupKey(app: string, id: string): string {
  return `catalog/${app}/${id}.json`;
}
export function drillKey(app: string, workflowId: string): string {
  return `drills/${app}/${workflowId.replace(/[^A-Za-z0-9._-]+/g, '_')}.json`;
}
export function holdKey(app: string, id: string): string {
  return `holds/${app}/${id}.json`;
}
