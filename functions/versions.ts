/** A version's ID: the same content (code digest, configuration, bindings, triggers, secret names) gives the same ID. */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { FunctionVersion, VersionContent } from '../contracts/functions';

export function versionId(content: VersionContent): string {
  // RFC 8785 canonical JSON: key order and number formatting cannot change the ID.
  return `fv-${createHash('sha256').update(canonicalize(content)!).digest('hex')}`;
}

export function namedVersion(content: VersionContent): FunctionVersion {
  return { id: versionId(content), ...content };
}

/** `fv-1a2b3c4d5e6f`: enough of an ID to name it to a person, and to find it again. */
export function shortVersion(id: string): string {
  return id.slice(0, 15);
}
