/**
 * Where a repository is and how to unlock it: plain data, safe in workflow history (no
 * secret: the password stays in a file or in the worker's environment).
 */
export interface RepositorySpec {
  /** A directory, or s3://bucket/prefix. */
  location: string;
  /** An S3-compatible server other than AWS, e.g. http://127.0.0.1:7070. */
  endpoint?: string;
  region?: string;
  /** A file holding the password; else $LAZARUS_PASSWORD; with neither, no encryption. */
  passwordFile?: string;
  /** Chunk sizes for a new repository (an existing one keeps its own). */
  chunking?: { minSize: number; avgSize: number; maxSize: number };
}

// Defined beside the path helpers, where workflow code may import it too.
export { isS3Location } from '../model/paths';

/** s3://bucket/some/prefix -> bucket and prefix. */
export function parseS3Location(location: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
  if (!match) throw new Error(`"${location}" is not an s3://bucket/prefix address`);
  return { bucket: match[1], prefix: match[2].replace(/\/$/, '') };
}
