/** The services a manifest captures continuously: what `pitr`, `forget` and `--at` work on. Pure. */
import { specFor } from '../datastores/registry';
import type { Manifest } from './manifest';
import { type PitrPolicy, pitrPolicyOf } from './pitr-policy';

/** Each service whose own or tier's `pitr` asks for capture, of a kind that has a log, in manifest order. */
export function capturedServices(
  manifest: Pick<Manifest, 'services' | 'tiers'>,
): Array<{ service: string; policy: PitrPolicy }> {
  return Object.entries(manifest.services).flatMap(([service, s]) => {
    const policy = pitrPolicyOf(s, manifest.tiers);
    return policy && s.datastore && specFor(s.datastore.kind).capture ? [{ service, policy }] : [];
  });
}
