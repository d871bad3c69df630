/**
 * The repository, first version: content-addressed objects (SHA-256) and a catalog of
 * backups, over any StorageBackend. Workflows and activities only see SnapshotRef and
 * BackupEntry, so chunking, compression and encryption can replace the object layer
 * without touching them.
 */
import { promises as fs } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Readable, Writable, pipeline as chain } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../model/errors';
import type { StorageBackend } from './backend';
import { BackupEntry, SnapshotRef, isVerified } from './catalog';
import { LocalBackend } from './local-backend';
import { byteCounter, sha256Tap, verifyingTap } from './streams';

const FORMAT_VERSION = 1;
const CONFIG_KEY = 'config.json';
/** An upload untouched this long lost its writer (a killed worker). */
const STALE_UPLOAD_MS = 60 * 60 * 1000;

export class Repository {
  private constructor(readonly backend: StorageBackend) {}

  /** The local directory, for a repository on the local filesystem. */
  get root(): string {
    return this.backend instanceof LocalBackend ? this.backend.root : '';
  }

  /** Opens the repository at a local path, creating it on first use. */
  static async openLocal(root: string): Promise<Repository> {
    await fs.mkdir(root, { recursive: true });
    const backend = new LocalBackend(root);
    // Objects arrive through tmp/ and are renamed whole: partials live only where uploads are written.
    await backend.removeStalePartials(['tmp', 'catalog'], STALE_UPLOAD_MS);
    return Repository.open(backend);
  }

  static async open(backend: StorageBackend): Promise<Repository> {
    const repo = new Repository(backend);
    const config = await repo.readJson<{ version: number }>(CONFIG_KEY);
    if (!config) {
      await repo.writeJson(CONFIG_KEY, { version: FORMAT_VERSION, createdAt: new Date().toISOString() });
    } else if (config.version !== FORMAT_VERSION) {
      throw new UserError(`repository format ${config.version} is not supported by this version of Lazarus`);
    }
    return repo;
  }

  /** Stores a stream as one object, hashing it on the way; storing the same bytes twice keeps one copy. */
  async storeSnapshot(data: Readable, onBytes: (bytes: number) => void = () => {}): Promise<SnapshotRef> {
    const upload = `tmp/${randomUUID()}`;
    const tap = sha256Tap();
    try {
      // A failing source (a dump tool that exits non-zero) destroys the whole chain, so a
      // truncated stream can never be stored as if it were complete.
      await this.backend.put(
        upload,
        chain(data, tap, byteCounter(onBytes), () => {}),
      );
      const ref = { sha256: tap.digest(), size: tap.bytes() };
      if (await this.backend.stat(objectKey(ref.sha256))) await this.backend.remove(upload);
      else await this.backend.rename(upload, objectKey(ref.sha256));
      return ref;
    } catch (err) {
      data.destroy();
      await this.backend.remove(upload);
      throw err;
    }
  }

  /** Reads an object back and re-hashes it. */
  async checkSnapshot(ref: SnapshotRef): Promise<ObjectProblem | undefined> {
    const stat = await this.backend.stat(objectKey(ref.sha256));
    if (!stat) return { sha256: ref.sha256, problem: 'missing' };
    const tap = sha256Tap();
    await pipeline(this.backend.get(objectKey(ref.sha256)), tap, devNull());
    if (tap.digest() !== ref.sha256 || tap.bytes() !== ref.size) {
      return {
        sha256: ref.sha256,
        problem: `corrupt: content hashes to ${tap.digest()} (${tap.bytes()} bytes)`,
      };
    }
    return undefined;
  }

  /** Streams a snapshot; the stream fails at its end if the bytes do not match the ref. */
  openSnapshot(ref: SnapshotRef): Readable {
    return chain(this.backend.get(objectKey(ref.sha256)), verifyingTap(ref), () => {});
  }

  async hasSnapshot(ref: SnapshotRef): Promise<boolean> {
    return (await this.backend.stat(objectKey(ref.sha256))) !== undefined;
  }

  /** Writes a catalog entry once; a retry with the same entry is a no-op, a different one is refused. */
  async saveBackup(entry: BackupEntry): Promise<void> {
    await this.writeOnce(
      backupKey(entry.app, entry.id),
      entry,
      `backup ${entry.app}/${entry.id} is already in the catalog`,
    );
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
    return this.readJson<T>(drillKey(app, workflowId));
  }

  async listBackups(app?: string): Promise<BackupEntry[]> {
    const entries: BackupEntry[] = [];
    for await (const key of this.backend.list(app ? `catalog/${app}/` : 'catalog/')) {
      if (!key.endsWith('.json')) continue;
      const entry = await this.readJson<BackupEntry>(key);
      if (entry) entries.push(entry);
    }
    return entries.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
  }

  /** The named backup, or the latest one whose every snapshot was verified. */
  async findBackup(app: string, backupId?: string): Promise<BackupEntry> {
    if (backupId) {
      const entry = await this.readJson<BackupEntry>(backupKey(app, backupId));
      if (!entry) throw new UserError(`no backup "${backupId}" of application "${app}" in the repository`);
      return entry;
    }
    const latest = (await this.listBackups(app)).filter(isVerified).at(-1);
    if (!latest)
      throw new UserError(`application "${app}" has no verified backup yet: run "lazarus backup" first`);
    return latest;
  }

  /**
   * Re-reads and re-hashes every object that a backup references, and reports each
   * problem with the backups and services it affects.
   */
  async verify(onObject: (checked: number, total: number) => void = () => {}): Promise<VerifyReport> {
    const backups = await this.listBackups();
    const users = new Map<string, { ref: SnapshotRef; affects: AffectedService[] }>();
    for (const backup of backups) {
      for (const [service, snap] of Object.entries(backup.services)) {
        const use = users.get(snap.snapshot.sha256) ?? { ref: snap.snapshot, affects: [] };
        use.affects.push({ app: backup.app, backupId: backup.id, service });
        users.set(snap.snapshot.sha256, use);
      }
    }
    const problems: VerifyReport['problems'] = [];
    let checked = 0;
    let bytes = 0;
    for (const { ref, affects } of users.values()) {
      const problem = await this.checkSnapshot(ref);
      if (problem) problems.push({ ...problem, affects });
      bytes += ref.size;
      onObject(++checked, users.size);
    }
    return { backups: backups.length, objects: users.size, bytes, problems };
  }

  /** Records are written once: the same content again is a retry and accepted, other content refused. */
  private async writeOnce(key: string, value: unknown, clash: string): Promise<void> {
    const existing = await this.readJson<unknown>(key);
    if (existing) {
      if (JSON.stringify(existing) === JSON.stringify(value)) return;
      throw new Error(`${clash} with other content`);
    }
    await this.writeJson(key, value);
  }

  private async readJson<T>(key: string): Promise<T | undefined> {
    if (!(await this.backend.stat(key))) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of this.backend.get(key)) chunks.push(chunk as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
  }

  private async writeJson(key: string, value: unknown): Promise<void> {
    await this.backend.put(key, Readable.from([Buffer.from(JSON.stringify(value, null, 2))]));
  }
}

export interface ObjectProblem {
  sha256: string;
  problem: string;
}
export interface AffectedService {
  app: string;
  backupId: string;
  service: string;
}
export interface VerifyReport {
  backups: number;
  objects: number;
  bytes: number;
  problems: (ObjectProblem & { affects: AffectedService[] })[];
}

function objectKey(sha256: string): string {
  return `objects/${sha256.slice(0, 2)}/${sha256}`;
}
function backupKey(app: string, id: string): string {
  return `catalog/${app}/${id}.json`;
}
function drillKey(app: string, workflowId: string): string {
  return `drills/${app}/${workflowId.replace(/[^A-Za-z0-9._-]+/g, '_')}.json`;
}
function devNull(): Writable {
  return new Writable({ write: (_chunk, _enc, done) => done() });
}
