/**
 * Where a repository is and how to unlock it: plain data, safe in workflow history (no
 * secret: the password stays in a file or in the worker's environment). Pure: the
 * manifest, workflows and activities all name repositories with it.
 */
export interface RepositorySpec {
  /** A directory, or a URL whose scheme names the backend (s3://bucket/prefix). */
  location: string;
  /** An S3-compatible server other than AWS, e.g. http://127.0.0.1:7070. */
  endpoint?: string;
  region?: string;
  /** A file holding the password; else $LAZARUS_PASSWORD; with neither, no encryption. */
  passwordFile?: string;
  /** Chunk sizes for a new repository (an existing one keeps its own). */
  chunking?: { minSize: number; avgSize: number; maxSize: number };
}
