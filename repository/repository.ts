/**
 * The repository, a facade over its layers: storage/ (the backend stack), engine/
 * (deduplicated, compressed, encrypted snapshots), records/ (the catalog of backups,
 * holds, drill reports, locks) and maintenance/ (check, prune, cost, change rates).
 * Workflows and activities only see SnapshotRef and BackupEntry; a consumer that needs
 * one layer takes that part (`engine`, `catalog`, `holds`, `drills`, `records`).
 *
 * Keys are laid out in layout.ts. A repository of the first format (objects/<sha256>) is
 * upgraded in place on first open: its objects are still read, new snapshots go to packs.
 */
import { promises as fs } from 'node:fs';
import { Readable, pipeline as chain } from 'node:stream';
import type { RepositorySpec } from '../contracts/repository-spec';
import { UserError } from '../model/errors';
import { BlobIndex } from './engine/blob-index';
import { compileChunker } from './engine/chunker';
import { CodecPool } from './engine/codec-pool';
import { type FormatOptions, type OpenedFormat, openFormat } from './engine/format';
import type { EngineParts } from './engine/parts';
import { readChunks, readTree } from './engine/snapshot-reader';
import { type StoreStats, type WriterParts, writeSnapshot } from './engine/snapshot-writer';
import { sizeCheck, verifyingTap } from './engine/streams';
import { legacyObjectKey } from './layout';
import { type VerifyOptions, type VerifyReport, checkRepository } from './maintenance/verify';
import { BackupCatalog } from './records/backups';
import type { BackupEntry, SnapshotRef } from './records/catalog';
import { DrillReports } from './records/drills';
import { type LegalHold, LegalHolds } from './records/holds';
import { RecordStore } from './records/record-store';
import { StreamRecords } from './records/streams';
import { FunctionRecords } from './records/functions';
import { type StorageBackend, streamObject, unwrap } from './storage/backend';
import { LocalBackend } from './storage/local';
import { type StorageOptions, openStorage } from './storage/open';

export type { LegalHold } from './records/holds';

const DEFAULT_PACK_SIZE = 16 << 20;

/**
 * The parts of a repository a consumer names, so that it depends on no more than it uses
 * (restic's Lister, BlobLoader).
 */
export type SnapshotStore = Pick<
  Repository,
  'storeSnapshot' | 'storeSnapshotWithStats' | 'openSnapshot' | 'checkSnapshot' | 'hasSnapshot'
>;
export type SnapshotChecker = Pick<Repository, 'checkSnapshot'>;
export type CatalogReader = Pick<
  Repository,
  | 'listBackups'
  | 'backupsNewestFirst'
  | 'findBackup'
  | 'hasBackup'
  | 'listHolds'
  | 'findDrillReport'
  | 'listDrillReports'
>;

export interface OpenOptions extends Omit<FormatOptions, 'password'>, Omit<StorageOptions, 'create'> {
  /** Overrides the spec's password sources (tests, the bench). */
  password?: string;
  packSize?: number;
  /** Codec worker threads; default one per core but one. */
  workers?: number;
}

export class Repository {
  /** The engine's parts, built once: snapshots, check, prune and cost all work with these. */
  readonly engine: EngineParts;
  readonly records: RecordStore;
  readonly holds: LegalHolds;
  readonly catalog: BackupCatalog;
  readonly drills: DrillReports;
  readonly streams: StreamRecords;
  readonly functions: FunctionRecords;
  private readonly writer: WriterParts;

  private constructor(
    readonly backend: StorageBackend,
    readonly format: OpenedFormat,
    options: OpenOptions,
  ) {
    const { seal } = format;
    this.engine = {
      backend,
      index: new BlobIndex(backend, seal),
      codec: new CodecPool(format.masterKey, options.workers),
      seal,
    };
    this.writer = {
      ...this.engine,
      chunker: compileChunker(format.chunker),
      packSize: options.packSize ?? DEFAULT_PACK_SIZE,
    };
    this.records = new RecordStore(backend, seal, format.config.legacyObjects === true);
    this.holds = new LegalHolds(this.records);
    this.catalog = new BackupCatalog(this.records, this.holds);
    this.drills = new DrillReports(this.records);
    this.streams = new StreamRecords(this.records);
    this.functions = new FunctionRecords(this.records);
  }

  /** The local directory, for a repository on the local filesystem. */
  get root(): string {
    return unwrap(this.backend, LocalBackend)?.root ?? '';
  }

  get encrypted(): boolean {
    return this.format.config.encryption !== 'none';
  }

  /**
   * Opens the repository a spec names; with `create` (a backup), initialises one where
   * there is none, else refuses with MissingRepositoryError. The CLI and activities both
   * open repositories here, so both write through the one storage stack (storage/open.ts).
   */
  static async open(spec: RepositorySpec, options: OpenOptions = {}): Promise<Repository> {
    const backend = await openStorage(spec, options);
    const password = options.password ?? (await passwordFor(spec));
    const format = await openFormat(backend, {
      ...options,
      password,
      chunking: options.chunking ?? spec.chunking,
    });
    const repo = new Repository(backend, format, options);
    await repo.engine.index.load();
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
    await this.engine.index.load();
    return writeSnapshot(this.writer, data, onBytes);
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
    const parts = this.engine;
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
    await this.engine.index.load();
    return this.engine.index.has(ref.tree);
  }

  // The catalog, holds and drill reports, by the names callers have always used (see records/).

  hasBackup(app: string, id: string): Promise<boolean> {
    return this.catalog.has(app, id);
  }
  saveBackup(entry: BackupEntry): Promise<void> {
    return this.catalog.save(entry);
  }
  recordBackup(entry: BackupEntry, complete?: (entry: BackupEntry) => Promise<BackupEntry>): Promise<string> {
    return this.catalog.record(entry, complete);
  }
  removeBackup(app: string, id: string): Promise<void> {
    return this.catalog.remove(app, id);
  }
  listBackups(app?: string): Promise<BackupEntry[]> {
    return this.catalog.list(app);
  }
  backupsNewestFirst(app: string): AsyncGenerator<BackupEntry> {
    return this.catalog.newestFirst(app);
  }
  findBackup(app: string, backupId?: string, services: string[] = []): Promise<BackupEntry> {
    return this.catalog.find(app, backupId, services);
  }

  /** Puts a backup under legal hold: forget keeps it, and nothing removes it, until released. */
  async placeHold(app: string, id: string, hold: Omit<LegalHold, 'placedAt'>): Promise<LegalHold> {
    await this.catalog.find(app, id);
    return this.holds.place(app, id, hold);
  }
  releaseHold(app: string, id: string): Promise<void> {
    return this.holds.release(app, id);
  }
  listHolds(app: string): Promise<Record<string, LegalHold>> {
    return this.holds.list(app);
  }

  saveDrillReport(report: { app: string; workflowId: string }): Promise<void> {
    return this.drills.save(report);
  }
  findDrillReport<T>(app: string, workflowId: string): Promise<T | undefined> {
    return this.drills.find<T>(app, workflowId);
  }
  listDrillReports<T>(app: string): Promise<T[]> {
    return this.drills.list<T>(app);
  }

  /** Checks the structure and, with readData, the content; see maintenance/verify.ts. */
  async verify(options: VerifyOptions = {}): Promise<VerifyReport> {
    return checkRepository(this, options);
  }

  async close(): Promise<void> {
    await this.engine.codec.close();
  }
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
