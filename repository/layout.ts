/**
 * Where each kind of object lives in a repository: every key and every prefix, here and
 * nowhere else. These names are the repository's format: existing repositories hold
 * them, so none may change.
 *
 *   config, config.json (first format)   keys/<keyId>-<uuid>.json     data/<ab>/<pack>
 *   index/<sha256>   objects/<ab>/<sha256> (first format)   catalog/<app>/<id>.json
 *   holds/<app>/<id>.json   drills/<app>/<workflow>.json   locks/<owner>.json
 *   streams/<app>/<service>/bases/<id>.json   streams/<app>/<service>/logs/<lineage>/<file>.json
 *   checkpoints/<app>/<group>/<name>.json
 */

export const CONFIG_KEY = 'config';
/** The first format's config: objects/<sha256>, no chunking, no encryption. */
export const LEGACY_CONFIG_KEY = 'config.json';

export const KEYS_PREFIX = 'keys/';
/** A key file of the master key `keyId`; the uuid keeps two of them apart. */
export function keyFileKey(keyId: string, uuid: string): string {
  return `${KEYS_PREFIX}${keyId}-${uuid}.json`;
}
export function keyFilesPrefix(keyId: string): string {
  return `${KEYS_PREFIX}${keyId}-`;
}

export const PACKS_PREFIX = 'data/';
export function packKey(id: string): string {
  return `${PACKS_PREFIX}${id.slice(0, 2)}/${id}`;
}
/** The pack id a key under data/ names. */
export function packIdOf(key: string): string {
  return key.split('/').pop()!;
}

export const INDEX_PREFIX = 'index/';
export function indexKey(sha256: string): string {
  return `${INDEX_PREFIX}${sha256}`;
}

export const LEGACY_OBJECTS_PREFIX = 'objects/';
/** A first-format snapshot: one object named by the SHA-256 of its bytes. */
export function legacyObjectKey(sha256: string): string {
  return `${LEGACY_OBJECTS_PREFIX}${sha256.slice(0, 2)}/${sha256}`;
}

/** Every application's catalog, or one application's. */
export function catalogPrefix(app?: string): string {
  return app ? `catalog/${app}/` : 'catalog/';
}
export function backupKey(app: string, id: string): string {
  return `${catalogPrefix(app)}${id}.json`;
}

export function holdsPrefix(app: string): string {
  return `holds/${app}/`;
}
export function holdKey(app: string, id: string): string {
  return `${holdsPrefix(app)}${id}.json`;
}
/** The backup ID a hold's key names. */
export function heldBackupOf(app: string, key: string): string {
  return key.slice(holdsPrefix(app).length, -'.json'.length);
}

export function drillsPrefix(app: string): string {
  return `drills/${app}/`;
}
export function drillKey(app: string, workflowId: string): string {
  return `${drillsPrefix(app)}${safeName(workflowId)}.json`;
}

/** Continuous capture: every application's streams, one application's, or one service's. */
export function streamsPrefix(app?: string, service?: string): string {
  return `streams/${app ? `${app}/` : ''}${service ? `${service}/` : ''}`;
}
export function streamBaseKey(app: string, service: string, id: string): string {
  return `${streamsPrefix(app, service)}bases/${safeName(id)}.json`;
}
export function streamLogsPrefix(app: string, service: string): string {
  return `${streamsPrefix(app, service)}logs/`;
}
/** A log file's record; lineages ("<system id>/<timeline>") become one key segment. */
export function streamLogKey(app: string, service: string, lineage: string, file: string): string {
  return `${streamLogsPrefix(app, service)}${safeName(lineage)}/${safeName(file)}.json`;
}
export function checkpointsPrefix(app: string, group?: string): string {
  return `checkpoints/${app}/${group ? `${group}/` : ''}`;
}
export function checkpointKey(app: string, group: string, name: string): string {
  return `${checkpointsPrefix(app, group)}${safeName(name)}.json`;
}

/** Function versions: every application's, one application's, or one function service's. */
export function functionsPrefix(app?: string, service?: string): string {
  return `functions/${app ? `${app}/` : ''}${service ? `${service}/` : ''}`;
}
export function functionVersionKey(app: string, service: string, id: string): string {
  return `${functionsPrefix(app, service)}versions/${safeName(id)}.json`;
}

export const LOCKS_PREFIX = 'locks/';
export function lockKey(owner: string): string {
  return `${LOCKS_PREFIX}${safeName(owner)}.json`;
}

/** A workflow ID or lock owner ("backup/shop/…") as one key segment. */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_');
}
