/**
 * Which backups `lazarus forget` removes: each tier's retention rules are applied to the
 * backups holding a service of that tier, and a backup is kept whole if any tier keeps
 * it (a backup is one consistent moment of the application). A backup under legal hold
 * and the newest verified backup are always kept. Pure: the plan is shown before it is
 * applied.
 */
import type { TierName, TierTarget } from '../../model/manifest';
import { type BackupEntry, isVerified } from '../records/catalog';
import { applyRetention } from './retention';

export interface ForgetPlan {
  app: string;
  keep: { id: string; startedAt: string; reasons: string[] }[];
  remove: { id: string; startedAt: string; services: string[] }[];
}

export interface RetentionContext {
  app: string;
  /** The tier of each service; a service the manifest no longer has counts as standard. */
  serviceTiers: Record<string, TierName>;
  tiers: Record<TierName, TierTarget>;
  /** Backups under legal hold. */
  held: ReadonlySet<string>;
}

export function planForget(backups: BackupEntry[], context: RetentionContext): ForgetPlan {
  const own = backups.filter((b) => b.app === context.app);
  const reasons = new Map<string, string[]>();
  const keep = (id: string, reason: string) => reasons.set(id, [...(reasons.get(id) ?? []), reason]);

  const tiersOf = (b: BackupEntry) =>
    new Set(Object.keys(b.services).map((s) => context.serviceTiers[s] ?? 'standard'));
  for (const [tier, target] of Object.entries(context.tiers) as [TierName, TierTarget][]) {
    const inTier = own.filter((b) => tiersOf(b).has(tier)).map((b) => ({ id: b.id, at: b.startedAt }));
    for (const [id, why] of applyRetention(inTier, target.retention ?? {})) {
      for (const reason of why) keep(id, `${tier}: ${reason}`);
    }
  }
  for (const b of own) if (context.held.has(b.id)) keep(b.id, 'legal hold');
  const newestVerified = own.filter(isVerified).at(-1);
  if (newestVerified) keep(newestVerified.id, 'newest verified backup');

  return {
    app: context.app,
    keep: own
      .filter((b) => reasons.has(b.id))
      .map((b) => ({ id: b.id, startedAt: b.startedAt, reasons: reasons.get(b.id)! })),
    remove: own
      .filter((b) => !reasons.has(b.id))
      .map((b) => ({ id: b.id, startedAt: b.startedAt, services: Object.keys(b.services) })),
  };
}
