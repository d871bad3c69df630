/**
 * A drill's report: per service, how the restore into the sandbox went, what the
 * validators found, the RTO and RPO measured, and whether they meet the tier's targets.
 * Pure: built in the workflow, kept as its result, rendered by `lazarus report`.
 */
import { restoreLayers } from '../model/graph';
import { defaultTierTargets, isBuiltInTier, type TierName, type TierTarget } from '../model/manifest';
import type { BackupEntry } from '../repository/records/catalog';
import type { AppSpec, NodeOutcome } from './types';

export interface Validation {
  check: string;
  ok: boolean;
  detail: string;
}

export interface Measure {
  ms: number;
  targetMs: number;
  met: boolean;
}

export interface ServiceReport {
  tier: TierName;
  kind: string;
  sandbox?: string;
  status: NodeOutcome['status'];
  reason?: string;
  restore?: { startedAt: string; finishedAt: string; ms: number; bytes?: number };
  validation?: { startedAt: string; finishedAt: string; results: Validation[] };
  /** Stateful services only: time from the drill's start until this service was back and checked. */
  rto?: Measure;
  /** The age of the restored point when the drill started. */
  rpo?: Measure;
}

export interface DrillReport {
  kind: 'drill';
  app: string;
  workflowId: string;
  backupId: string;
  startedAt: string;
  finishedAt: string;
  outcome: 'succeeded' | 'failed';
  /** Why the drill failed, in a line. */
  reasons: string[];
  rto?: Measure;
  rpo?: Measure;
  services: Record<string, ServiceReport>;
  dependsOn: Record<string, string[]>;
  layers: string[][];
  teardown: { ok: boolean; problems: string[] };
  /** Stateful services restored with no validator run on them: back, but nothing was checked. */
  unchecked?: string[];
}

export interface DrillFacts {
  spec: AppSpec;
  backup: BackupEntry;
  workflowId: string;
  startedAt: number;
  finishedAt: number;
  sandboxTargets: Record<string, string>;
  outcomes: Record<string, NodeOutcome>;
  validations: Record<string, { startedAt: string; finishedAt: string; results: Validation[] }>;
  teardownProblems: string[];
}

export function buildDrillReport(facts: DrillFacts): DrillReport {
  const { spec, backup } = facts;
  const services: Record<string, ServiceReport> = {};
  for (const [name, service] of Object.entries(spec.services)) {
    const outcome = facts.outcomes[name] ?? { status: 'skipped', reason: 'not reached' };
    const validation = facts.validations[name];
    const targets = tierTarget(spec, service.tier);
    const report: ServiceReport = {
      tier: service.tier,
      kind: service.function
        ? `function:${service.function.platform}`
        : (service.datastore?.kind ?? 'stateless'),
      sandbox: facts.sandboxTargets[name],
      status: validation?.results.some((r) => !r.ok) ? 'failed' : outcome.status,
      reason: outcome.reason ?? failedChecks(validation?.results),
      validation,
    };
    if (outcome.startedAt && outcome.finishedAt) {
      report.restore = {
        startedAt: outcome.startedAt,
        finishedAt: outcome.finishedAt,
        ms: outcome.durationMs ?? 0,
        bytes: outcome.bytes,
      };
    }
    const backAt = validation?.finishedAt ?? outcome.finishedAt;
    if ((service.datastore || service.function) && backAt && report.status === 'succeeded') {
      report.rto = measure(Date.parse(backAt) - facts.startedAt, targets.rto);
    }
    const takenAt = backup.services[name]?.takenAt;
    if (takenAt) report.rpo = measure(facts.startedAt - Date.parse(takenAt), targets.rpo);
    services[name] = report;
  }
  const stateful = Object.values(services).filter((s) => s.kind !== 'stateless');
  const strictest = strictestTargets(spec);
  // The application is back only when every stateful service is: no RTO if one never was.
  const rto = stateful.every((s) => s.rto)
    ? worst(
        stateful.map((s) => s.rto?.ms),
        strictest.rto,
      )
    : undefined;
  const rpo = worst(
    stateful.map((s) => s.rpo?.ms),
    strictest.rpo,
  );
  const reasons = [
    ...Object.entries(services)
      .filter(([, s]) => s.status === 'failed' || s.status === 'skipped')
      .map(([name, s]) => `${name}: ${s.reason ?? s.status}`),
    ...(rto && !rto.met ? [`RTO ${rto.ms} ms exceeds ${rto.targetMs} ms`] : []),
    ...(rpo && !rpo.met ? [`RPO ${rpo.ms} ms exceeds ${rpo.targetMs} ms`] : []),
    ...facts.teardownProblems.map((p) => `teardown: ${p}`),
  ];
  const report: DrillReport = {
    kind: 'drill',
    app: spec.app,
    workflowId: facts.workflowId,
    backupId: backup.id,
    startedAt: new Date(facts.startedAt).toISOString(),
    finishedAt: new Date(facts.finishedAt).toISOString(),
    outcome: reasons.length === 0 ? 'succeeded' : 'failed',
    reasons,
    rto,
    rpo,
    services,
    dependsOn: Object.fromEntries(Object.entries(spec.services).map(([s, svc]) => [s, svc.depends_on])),
    layers: restoreLayers(spec.services),
    teardown: { ok: facts.teardownProblems.length === 0, problems: facts.teardownProblems },
  };
  return { ...report, unchecked: uncheckedServices(report) };
}

/** The stateful services a drill restored without checking anything (no `validate` in the manifest). */
export function uncheckedServices(report: DrillReport): string[] {
  return Object.entries(report.services)
    .filter(([, s]) => s.kind !== 'stateless' && s.status === 'succeeded')
    .filter(([, s]) => (s.validation?.results.length ?? 0) === 0)
    .map(([name]) => name);
}

/**
 * A drill's verdict in words. A drill that restored everything but checked nothing did not
 * prove the data usable, and says so instead of a bare "passed".
 */
export function drillVerdict(report: DrillReport): { verdict: string; advice?: string } {
  if (report.outcome !== 'succeeded') return { verdict: 'failed' };
  const unchecked = report.unchecked ?? uncheckedServices(report);
  if (unchecked.length === 0) return { verdict: 'passed' };
  const stateful = Object.values(report.services).filter((s) => s.kind !== 'stateless').length;
  const advice = `restored, nothing checked: add \`validate\` to the manifest for ${unchecked.join(', ')}`;
  return { verdict: unchecked.length === stateful ? 'restored, nothing checked' : 'passed in part', advice };
}

/** Specs recorded before tiers were carried in them have none: the built-in defaults apply. */
function tierTarget(spec: AppSpec, tier: TierName): TierTarget {
  return spec.tiers?.[tier] ?? defaultTierTargets[isBuiltInTier(tier) ? tier : 'standard'];
}

/** The application as a whole answers to its most demanding tier. */
function strictestTargets(spec: AppSpec): Pick<TierTarget, 'rto' | 'rpo'> {
  const tiers = Object.values(spec.services)
    .filter((s) => s.datastore)
    .map((s) => tierTarget(spec, s.tier));
  return {
    rto: Math.min(...tiers.map((t) => t.rto)),
    rpo: Math.min(...tiers.map((t) => t.rpo)),
  };
}

function measure(ms: number, targetMs: number): Measure {
  return { ms, targetMs, met: ms <= targetMs };
}

function worst(values: (number | undefined)[], targetMs: number): Measure | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length > 0 ? measure(Math.max(...known), targetMs) : undefined;
}

function failedChecks(results?: Validation[]): string | undefined {
  const failed = results?.filter((r) => !r.ok) ?? [];
  return failed.length > 0 ? failed.map((r) => `${r.check}: ${r.detail}`).join('; ') : undefined;
}
