/** Path containment for stores, sandboxes and the repository. Pure, without Node built-ins: workflows use it. */

/** Is `child` the path `parent` or a path under it? Both absolute and normalised. */
export function within(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith('/') ? parent : `${parent}/`);
}

/** Does either path hold the other? */
export function nested(a: string, b: string): boolean {
  return within(a, b) || within(b, a);
}

/**
 * The URL scheme of a repository location, which names its backend: "s3" for
 * s3://bucket/prefix; "" for a local directory (a drive letter is no scheme: no "//").
 */
export function schemeOf(location: string): string {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(location)?.[1].toLowerCase() ?? '';
}

/** A repository in a local directory, not in object storage behind a URL. */
export function isLocalLocation(location: string): boolean {
  return schemeOf(location) === '';
}
