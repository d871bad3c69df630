/**
 * Runs units of work over a dependency graph inside a workflow: a unit starts once
 * every unit it comes after has finished, at most `limit` at a time. A member whose
 * dependency failed or was skipped is skipped, and independent branches go on.
 */
import { condition } from '@temporalio/workflow';
import type { NodeOutcome } from './types';
import { partitionUnitId } from '../contracts/ids';

export interface Unit {
  id: string;
  members: string[];
  /** Units that must finish first. */
  after: string[];
}

/** What the scheduler calls back for each unit: not to be confused with users' hooks. */
export interface UnitCallbacks {
  /** Runs a unit's eligible members and returns each one's outcome. */
  execute(unit: Unit, members: string[]): Promise<Record<string, NodeOutcome>>;
  onStart?(members: string[]): void;
  onDone?(outcomes: Record<string, NodeOutcome>): void;
}

export async function runDag(
  units: Unit[],
  memberDeps: Record<string, string[]>,
  limit: number,
  callbacks: UnitCallbacks,
): Promise<Record<string, NodeOutcome>> {
  const outcomes: Record<string, NodeOutcome> = {};
  const finishedUnits = new Set<string>();
  const waiting = [...units];
  let inFlight = 0;
  /** The first error a unit threw (a cancellation, a bug): no new unit starts after it. */
  let failure: { error: unknown } | undefined;
  const runs: Promise<void>[] = [];

  const record = (result: Record<string, NodeOutcome>): void => {
    Object.assign(outcomes, result);
    callbacks.onDone?.(result);
  };
  const isReady = (unit: Unit) => unit.after.every((a) => finishedUnits.has(a));
  const start = (unit: Unit): Promise<void> => {
    const blocked = unit.members.map((m) => [m, failedDependency(m, memberDeps, outcomes)] as const);
    const skipped = Object.fromEntries(
      blocked
        .filter(([, dep]) => dep !== undefined)
        .map(([m, dep]) => [
          m,
          { status: 'skipped', reason: `dependency ${dep} did not complete` } as NodeOutcome,
        ]),
    );
    if (Object.keys(skipped).length > 0) record(skipped);
    const eligible = blocked.filter(([, dep]) => dep === undefined).map(([m]) => m);
    if (eligible.length === 0) {
      finishedUnits.add(unit.id);
      return Promise.resolve();
    }
    inFlight++;
    callbacks.onStart?.(eligible);
    return callbacks.execute(unit, eligible).then(
      (result) => {
        record(result);
        finishedUnits.add(unit.id);
        inFlight--;
      },
      (error: unknown) => {
        failure ??= { error };
        inFlight--;
      },
    );
  };

  while (waiting.length > 0) {
    await condition(() => failure !== undefined || (inFlight < limit && waiting.some(isReady)));
    if (failure) break;
    runs.push(start(waiting.splice(waiting.findIndex(isReady), 1)[0]));
  }
  await Promise.all(runs);
  if (failure) throw failure.error;
  return outcomes;
}

function failedDependency(
  member: string,
  memberDeps: Record<string, string[]>,
  outcomes: Record<string, NodeOutcome>,
): string | undefined {
  return (memberDeps[member] ?? []).find((dep) => {
    const status = outcomes[dep]?.status;
    return status === 'failed' || status === 'skipped';
  });
}

/** One unit per member, each after the members it depends on. */
export function singletonUnits(memberDeps: Record<string, string[]>): Unit[] {
  return Object.keys(memberDeps)
    .sort()
    .map((m) => ({ id: m, members: [m], after: memberDeps[m] }));
}

/**
 * Units of at most `size` members for graphs too large for one history: each
 * topological layer is cut into slices, and a slice comes after every slice that holds
 * one of its members' dependencies.
 */
export function partitionUnits(
  layers: string[][],
  memberDeps: Record<string, string[]>,
  size: number,
): Unit[] {
  const unitOf = new Map<string, string>();
  const units: Unit[] = [];
  layers.forEach((layer, layerIndex) => {
    for (let i = 0; i < layer.length; i += size) {
      const members = layer.slice(i, i + size);
      const id = partitionUnitId(layerIndex, i / size);
      const after = new Set(members.flatMap((m) => (memberDeps[m] ?? []).map((d) => unitOf.get(d) ?? '')));
      members.forEach((m) => unitOf.set(m, id));
      units.push({ id, members, after: [...after].filter(Boolean).sort() });
    }
  });
  return units;
}
