/** What to tell a user whose services no single verified backup holds. Pure. */

/** The part of a catalog entry the hint reads. */
interface BackupHolding {
  id: string;
  services: Record<string, unknown>;
}

/**
 * The hint for services no single backup holds: as few parts as the catalog allows, each
 * the latest backup holding most of what is left (fewer parts, fewer moments mixed), and
 * the services no backup holds. `verified` is oldest first.
 */
export function separateRestores(verified: readonly BackupHolding[], services: readonly string[]): string {
  let left = [...services].sort();
  const steps: string[] = [];
  for (;;) {
    const covered = (b: BackupHolding) => left.filter((s) => b.services[s]);
    // verified is oldest first, so `>=` keeps the latest of equally good backups.
    const best = verified.reduce<BackupHolding | undefined>(
      (a, b) => (!a || covered(b).length >= covered(a).length ? b : a),
      undefined,
    );
    const part = best ? covered(best) : [];
    if (!best || part.length === 0) break;
    steps.push(`--services ${part.join(',')} --backup ${best.id}`);
    left = left.filter((s) => !part.includes(s));
  }
  const restore = steps.length ? `restore them in parts, dependencies first: ${steps.join('; ')}` : '';
  const none = left.length ? `${left.join(', ')} has no verified backup yet: back it up first` : '';
  return [restore, none].filter(Boolean).join('; ');
}
