/** What the engine's readers, writers and the maintenance jobs work with: one set per open repository. */
import type { StorageBackend } from '../storage/backend';
import type { BlobIndex } from './blob-index';
import type { CodecPool } from './codec-pool';
import type { HeaderSeal } from './pack';

export interface EngineParts {
  /** The storage stack: every request goes through its wrappers (storage/open.ts). */
  readonly backend: StorageBackend;
  readonly index: BlobIndex;
  readonly codec: CodecPool;
  /** Seals pack headers, index files and records with the master key (or nothing). */
  readonly seal: HeaderSeal;
}
