/**
 * The repository: deduplicated, compressed, encrypted snapshots (snapshot-writer.ts,
 * snapshot-reader.ts) and a catalog of backups, over any StorageBackend. Workflows and
 * activities only see SnapshotRef and BackupEntry.
 *
 * Layout: config (plain), keys/ (password key files), data/ (packs), index/ (which pack
 * holds which blob), catalog/<app>/<id>.json and drills/ (sealed records), holds/ (legal
 * holds), locks/. A repository of the first format (objects/<sha256>) is upgraded in
 * place on first open: its objects are still read, new snapshots go to packs.
 */
import { promises as fs } from 'node:fs';
import { Readable, pipeline as chain } from 'node:stream';
import { UserError } from '../model/errors';
import { nextBackupId } from '../contracts/ids';
import { type StorageBackend, streamObject } from './backend';
import { BlobIndex } from './blob-index';
import { BackupEntry, SnapshotRef, isVerified } from './catalog';
import { compileChunker } from './chunker';
import { CodecPool } from './codec-pool';
import { type FormatOptions, type OpenedFormat, absentAs, openFormat } from './format';
import { backupKey, drillKey, holdKey, legacyObjectKey } from './layout';
import { LocalBackend } from './local-backend';
import { type RepositorySpec, isS3Location, parseS3Location } from './location';
import { type ResilienceOptions, ResilientBackend } from './resilient-backend';
import { S3Backend } from './s3-backend';
import { readChunks, readTree } from './snapshot-reader';
import { type StoreStats, writeSnapshot } from './snapshot-writer';
import { sizeCheck, verifyingTap } from './streams';
import { type VerifyOptions, type VerifyReport, verifyRepository } from './verify';

/** A write untouched this long lost its writer (a killed worker). */
const STALE_WRITE_MS = 60 * 60 * 1000;
const DEFAULT_PACK_SIZE = 16 << 20;

export interface OpenOptions extends Omit<FormatOptions, 'password'> {
  /** Overrides the spec's password sources (tests, the bench). */
  password?: string;
  packSize?: number;
  /** Codec worker threads; default one per core but one. */
  workers?: number;
  /** How requests are retried; default: defaultResilience. */
  resilience?: ResilienceOptions;
}

export interface LegalHold {
  reason: string;
  by: string;
  placedAt: string;
}

export class Repository {
  readonly index: BlobIndex;
  readonly codec: CodecPool;
  private readonly packSize: number;

  private constructor(
    readonly backend: StorageBackend,
    readonly format: OpenedFormat,
    options: OpenOptions,
  ) {
    this.index = new BlobIndex(backend, format.seal);
    this.codec = new CodecPool(format.masterKey, options.workers);
    this.packSize = options.packSize ?? DEFAULT_PACK_SIZE;
  }

  /** The local directory, for a repository on the local filesystem. */
  get root(): string {
    const inner = this.backend instanceof ResilientBackend ? this.backend.inner : this.backend;
    return inner instanceof LocalBackend ? inner.root : '';
  }

  get encrypted(): boolean {
    return this.format.config.encryption !== 'none';
  }

  /**
   * Opens the repository a spec names; with `create` (a backup), initialises one where
   * there is none, else refuses with MissingRepositoryError.
   */
  static async open(spec: RepositorySpec, options: OpenOptions = {}): Promise<Repository> {
    const backend = new ResilientBackend(await backendFor(spec, options.create === true), options.resilience);
    const password = options.password ?? (await passwordFor(spec));
    const format = await openFormat(backend, {
      ...options,
      password,
      chunking: options.chunking ?? spec.chunking,
    });
    const repo = new Repository(backend, format, options);
    await repo.index.load();
    return repo;
  }

  /** A local repository, created on first use (tests, the bench). */
  static openLocal(root: string, options: OpenOptions = {}): Promise<Repository> {
    return Repository.open({ location: root }, { create: true, ...options });
  }

  /** Stores a snapshot stream, deduplicated against everything the repository holds. */
  async storeSnapshot(data: Readable, onBytes: (bytes: number) => void = () => {}): Promise<SnapshotRef> {
    return (await this.storeSnapshotWithStats(data, onBytes)).ref;
  }

  async storeSnapshotWithStats(
    data: Readable,
    onBytes: (bytes: number) => void = () => {},
  ): Promise<{ ref: SnapshotRef; stats: StoreStats }> {
    await this.index.load();
    return writeSnapshot(
      {
        backend: this.backend,
        index: this.index,
        codec: this.codec,
        seal: this.format.seal,
        chunker: compileChunker(this.format.chunker),
        packSize: this.packSize,
      },
      data,
      onBytes,
    );
  }

  /**
   * Streams a snapshot; the stream fails if any byte is missing, damaged or out of place.
   * A chunked snapshot is checked link by link: the tree must hash to its id, each chunk
   * to the id the tree lists, and the total to the size; a first-format object is
   * re-hashed whole.
   */
  openSnapshot(ref: SnapshotRef): Readable {
    if (!ref.tree) return chain(this.streamLegacyObject(ref), verifyingTap(ref), () => {});
    return chain(this.streamChunks(ref.tree), sizeCheck(ref), () => {});
  }

  private streamChunks(treeId: string): Readable {
    const parts = { backend: this.backend, index: this.index, codec: this.codec };
    async function* chunks() {
      await parts.index.load(); // prune may have moved blobs since the index was read
      yield* readChunks(parts, await readTree(parts, treeId));
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  private streamLegacyObject(ref: SnapshotRef): Readable {
    return streamObject(this.backend, legacyObjectKey(ref.sha256), ref.size);
  }

  /** Reads a snapshot back whole and re-hashes every byte; undefined when it is sound. */
  async checkSnapshot(ref: SnapshotRef): Promise<{ sha256: string; problem: string } | undefined> {
    try {
      for await (const chunk of this.openSnapshot(ref)) void chunk;
      return undefined;
    } catch (err) {
      const message = (err as Error).message;
      const missing = (err as { code?: string }).code === 'ENOENT';
      return { sha256: ref.sha256, problem: missing ? `missing: ${message}` : message };
    }
  }

  async hasSnapshot(ref: SnapshotRef): Promise<boolean> {
    if (!ref.tree) return (await this.backend.stat(legacyObjectKey(ref.sha256))) !== undefined;
    await this.index.load();
    return this.index.has(ref.tree);
  }

  async hasBackup(app: string, id: string): Promise<boolean> {
    return (await this.readRecord<BackupEntry>(backupKey(app, id))) !== undefined;
  }

  /** Writes a catalog entry once; a retry with the same entry is a no-op, a different one is refused. */
  async saveBackup(entry: BackupEntry): Promise<void> {
    await this.writeOnce(
      backupKey(entry.app, entry.id),
      entry,
      `backup ${entry.app}/${entry.id} is already in the catalog`,
    );
  }

  /**
   * Records a backup, create-only, under its ID, or under the next free millisecond when
   * another run already holds that ID (two backups started in the same millisecond, as tier
   * schedules firing together do): no entry is ever dropped or overwritten. A retry of the
   * same run finds its own record and keeps it. `complete` fills in what depends on the ID's
   * neighbours (change figures) just before the write. Returns the ID recorded.
   */
  async recordBackup(
    entry: BackupEntry,
    complete: (entry: BackupEntry) => Promise<BackupEntry> = async (e) => e,
  ): Promise<string> {
    let id = entry.id;
    for (let taken = 0; taken < 1000;) {
      const existing = await this.readRecord<BackupEntry>(backupKey(entry.app, id));
      if (existing?.workflowId === entry.workflowId) return id;
      if (existing) {
        taken++;
        id = nextBackupId(id);
        continue;
      }
      const record = await complete({ ...entry, id });
      // Lost a race for this ID: read it again to see whose it is.
      if (await this.backend.create(backupKey(entry.app, id), this.sealRecord(record))) return id;
    }
    throw new Error(`backup ${entry.app}/${entry.id}: no free backup ID within a second of it`);
  }

  /** Removes a backup from the catalog (forget): its data goes at the next prune. Never one under legal hold. */
  async removeBackup(app: string, id: string): Promise<void> {
    const hold = await this.readRecord<LegalHold>(holdKey(app, id));
    if (hold)
      throw new UserError(
        `backup ${app}/${id} is under legal hold (${hold.reason}, by ${hold.by}): it cannot be removed`,
      );
    await this.backend.remove(backupKey(app, id));
  }

  /** Puts a backup under legal hold: forget keeps it, and nothing removes it, until released. */
  async placeHold(app: string, id: string, hold: Omit<LegalHold, 'placedAt'>): Promise<LegalHold> {
    await this.findBackup(app, id);
    const placed = { ...hold, placedAt: new Date().toISOString() };
    await this.writeRecord(holdKey(app, id), placed);
    return placed;
  }

  async releaseHold(app: string, id: string): Promise<void> {
    if (!(await this.readRecord<LegalHold>(holdKey(app, id))))
      throw new UserError(`backup ${app}/${id} is not under legal hold`);
    await this.backend.remove(holdKey(app, id));
  }

  async listHolds(app: string): Promise<Record<string, LegalHold>> {
    const holds: Record<string, LegalHold> = {};
    for await (const { key } of this.backend.list(`holds/${app}/`)) {
      const hold = await this.readRecord<LegalHold>(key);
      if (hold) holds[key.slice(`holds/${app}/`.length, -'.json'.length)] = hold;
    }
    return holds;
  }

  /** A drill's report, kept beside the backups it checked, for as long as they are. */
  async saveDrillReport(report: { app: string; workflowId: string }): Promise<void> {
    await this.writeOnce(
      drillKey(report.app, report.workflowId),
      report,
      `drill report ${report.workflowId}`,
    );
  }

  async findDrillReport<T>(app: string, workflowId: string): Promise<T | undefined> {
    return this.readRecord<T>(drillKey(app, workflowId));
  }

  async listDrillReports<T>(app: string): Promise<T[]> {
    const reports: T[] = [];
    for await (const { key } of this.backend.list(`drills/${app}/`)) {
      const report = await this.readRecord<T>(key);
      if (report) reports.push(report);
    }
    return reports;
  }

  async listBackups(app?: string): Promise<BackupEntry[]> {
    const entries: BackupEntry[] = [];
    for await (const { key } of this.backend.list(app ? `catalog/${app}/` : 'catalog/')) {
      if (!key.endsWith('.json')) continue;
      const entry = await this.readRecord<BackupEntry>(key);
      if (entry) entries.push(entry);
    }
    return entries.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
  }

  /**
   * An application's backups, the latest first, each read only when asked for: a caller
   * after the latest few stops early, where listBackups would read the whole catalog (one
   * GET per backup on S3). Backup IDs are their start times, so the names sort as the runs.
   */
  async *backupsNewestFirst(app: string): AsyncGenerator<BackupEntry> {
    const keys: string[] = [];
    for await (const { key } of this.backend.list(`catalog/${app}/`))
      if (key.endsWith('.json')) keys.push(key);
    for (const key of keys.sort().reverse()) {
      const entry = await this.readRecord<BackupEntry>(key);
      if (entry) yield entry;
    }
  }

  /**
   * The named backup, or the latest one whose every snapshot was verified and that holds
   * each of `services` (tiers are backed up on their own schedules, so a backup may hold
   * only some of an application's services).
   */
  async findBackup(app: string, backupId?: string, services: string[] = []): Promise<BackupEntry> {
    if (backupId) {
      const entry = await this.readRecord<BackupEntry>(backupKey(app, backupId));
      if (!entry) throw new UserError(`no backup "${backupId}" of application "${app}" in the repository`);
      return entry;
    }
    const passedOver: BackupEntry[] = [];
    for await (const entry of this.backupsNewestFirst(app)) {
      if (!isVerified(entry)) continue;
      if (services.every((s) => entry.services[s])) return entry;
      passedOver.push(entry);
    }
    if (passedOver.length > 0)
      throw new UserError(
        `no verified backup of "${app}" holds all of ${[...services].sort().join(', ')} ` +
          `(tiers backed up apart were taken at different moments): ${separateRestores(passedOver.reverse(), services)}`,
      );
    throw new UserError(`application "${app}" has no verified backup yet: run "lazarus backup" first`);
  }

  /** Checks the structure and, with readData, the content; see verify.ts. */
  async verify(options: VerifyOptions = {}): Promise<VerifyReport> {
    return verifyRepository(this, options);
  }

  async close(): Promise<void> {
    await this.codec.close();
  }

  /** Records are written once: the same content again is a retry and accepted, other content refused. */
  private async writeOnce(key: string, value: unknown, clash: string): Promise<void> {
    const existing = await this.readRecord<unknown>(key);
    if (existing) {
      if (JSON.stringify(existing) === JSON.stringify(value)) return;
      throw new Error(`${clash} with other content`);
    }
    await this.writeRecord(key, value);
  }

  /** A sealed JSON record; a first-format repository's records are plain JSON. */
  async readRecord<T>(key: string): Promise<T | undefined> {
    const stored = await this.backend.read(key).catch(absentAs(undefined));
    if (!stored) return undefined;
    try {
      return JSON.parse(this.format.seal.open(stored).toString('utf8')) as T;
    } catch (err) {
      if (this.format.config.legacyObjects && stored[0] === 0x7b)
        return JSON.parse(stored.toString('utf8')) as T;
      throw err;
    }
  }

  async writeRecord(key: string, value: unknown): Promise<void> {
    await this.backend.put(key, this.sealRecord(value));
  }

  private sealRecord(value: unknown): Buffer {
    return this.format.seal.seal(Buffer.from(JSON.stringify(value, null, 2)));
  }
}

async function backendFor(spec: RepositorySpec, create: boolean): Promise<StorageBackend> {
  if (isS3Location(spec.location)) {
    return new S3Backend({ ...parseS3Location(spec.location), endpoint: spec.endpoint, region: spec.region });
  }
  if (create) await fs.mkdir(spec.location, { recursive: true });
  const local = new LocalBackend(spec.location);
  await local.removeStalePartials(STALE_WRITE_MS);
  return local;
}

/** The password from the spec's file, else from $LAZARUS_PASSWORD; none means unencrypted. */
async function passwordFor(spec: RepositorySpec): Promise<string | undefined> {
  if (spec.passwordFile) {
    try {
      return (await fs.readFile(spec.passwordFile, 'utf8')).replace(/\r?\n$/, '');
    } catch (err) {
      throw new UserError(
        `repository.password_file: cannot read ${spec.passwordFile} (${(err as NodeJS.ErrnoException).code}): ` +
          'create it with the password on one line, or remove the field',
      );
    }
  }
  return process.env.LAZARUS_PASSWORD || undefined;
}

/**
 * The hint for services no single backup holds: as few parts as the catalog allows, each
 * the latest backup holding most of what is left (fewer parts, fewer moments mixed), and
 * the services no backup holds.
 */
function separateRestores(verified: BackupEntry[], services: readonly string[]): string {
  let left = [...services].sort();
  const steps: string[] = [];
  for (;;) {
    const covered = (b: BackupEntry) => left.filter((s) => b.services[s]);
    // verified is oldest first, so `>=` keeps the latest of equally good backups.
    const best = verified.reduce<BackupEntry | undefined>(
      (a, b) => (!a || covered(b).length >= covered(a).length ? b : a),
      undefined,
    );
    const part = best ? covered(best) : [];
    if (!best || part.length === 0) break;
    steps.push(`--services ${part.join(',')} --backup ${best.id}`);
    left = left.filter((s) => !part.includes(s));
  }
  const restore = steps.length ? `restore them in parts, dependencies first: ${steps.join('; ')}` : '';
  const none = left.length ? `${left.join(', ')} has no verified backup yet: back it up first` : '';
  return [restore, none].filter(Boolean).join('; ');
}
