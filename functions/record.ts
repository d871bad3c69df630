/**
 * A captured function recorded in the repository: its bundle stored (deduplicated like
 * any snapshot), checked against what the platform announced, and its version written
 * once under its content ID. Shared by the capture activity and `lazarus functions deploy`.
 */
import type { Readable } from 'node:stream';
import type { FunctionVersion, VersionSource } from '../contracts/functions';
import type { SnapshotRef } from '../repository/engine/snapshot-ref';
import type { FunctionRecords } from '../repository/records/functions';
import type { CapturedFunction } from './platform';
import { namedVersion } from './versions';

export interface RecordedVersion {
  version: FunctionVersion;
  bundle: SnapshotRef;
  takenAt: string;
  /** No earlier capture had this content: the version was recorded now. */
  recorded: boolean;
}

export async function recordVersion(
  records: FunctionRecords,
  owner: { app: string; service: string; source: VersionSource },
  captured: CapturedFunction,
  storeBundle: (bundle: Readable) => Promise<SnapshotRef>,
): Promise<RecordedVersion> {
  const takenAt = new Date().toISOString();
  const bundle = await storeBundle(captured.bundle);
  const expected = captured.content.bundle;
  if (bundle.sha256 !== expected.sha256 || bundle.size !== expected.size)
    throw new Error(
      `the bundle of ${owner.service} changed while it was read (${expected.size} bytes announced, ` +
        `${bundle.size} stored): the function was being deployed; capture it again`,
    );
  const version = namedVersion(captured.content);
  const recorded = await records.save({ ...owner, version, bundle, firstSeenAt: takenAt });
  return { version, bundle, takenAt, recorded };
}
