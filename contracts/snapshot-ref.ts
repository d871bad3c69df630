/** What the engine returns for a stored snapshot, and all a catalog entry keeps of it. */

/**
 * A stored snapshot: the SHA-256 and size of its bytes (checked end to end on every
 * read), and the tree blob that lists its chunks. A first-format snapshot has no tree:
 * it is one object named by its SHA-256.
 */
export interface SnapshotRef {
  sha256: string;
  size: number;
  tree?: string;
}
