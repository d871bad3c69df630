/** Path containment for stores, sandboxes and the repository. Pure, without Node built-ins: workflows use it. */

/** Is `child` the path `parent` or a path under it? Both absolute and normalised. */
export function within(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith('/') ? parent : `${parent}/`);
}

/** Does either path hold the other? */
export function nested(a: string, b: string): boolean {
  return within(a, b) || within(b, a);
}

/** A repository in S3-compatible storage (s3://bucket/prefix), not a local directory. */
export function isS3Location(location: string): boolean {
  return location.startsWith('s3://');
}
