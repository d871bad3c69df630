/**
 * A consistency group's snapshot: every member captured as of one moment. Writes are
 * frozen (the application's pause hook, then each store's own means), every member's
 * snapshot point is established and its position recorded, the freeze is released, and
 * only then is the data streamed out. The freeze never outlasts its bound: a timer
 * releases it, a lock dies with its connection, and a pause lapses with its lease.
 */
import type { FreezeContext, SnapshotPoint, WriteFreeze } from '../datastores/adapter';
import type { Datastore, Hook } from '../model/manifest';
import type { ActivityDeps } from './deps';
import type { HookContext } from './hooks';

/** The collaborators a freeze uses: each member's adapter, and the pause and resume hooks' runner. */
export type FreezeTools = Pick<ActivityDeps, 'adapterFor' | 'runHookOnce'>;

export interface GroupMember {
  service: string;
  datastore: Datastore;
  stagingId: string;
}

export interface FreezePlan {
  group: string;
  members: GroupMember[];
  maxFreezeMs: number;
  /** The longest a pause lasts unless renewed: the heartbeat timeout of the activity holding it. */
  leaseMs: number;
  pause?: Hook;
  resume?: Hook;
  context: HookContext;
  scratchDir: string;
}

export interface FreezeTimes {
  frozenAt: string;
  /** The moment every member's point was established: what the group's snapshot is of. */
  pointAt: string;
  releasedAt: string;
  freezeMs: number;
}

export interface HeldPoints {
  points: Map<string, SnapshotPoint>;
  times: FreezeTimes;
  /** What the pause and resume hooks printed. */
  hookDetails: string[];
}

export class FreezeError extends Error {}

/** Freezes the group, establishes every member's point, and releases; at most `maxFreezeMs`. */
export async function establishPoints(
  plan: FreezePlan,
  signal: AbortSignal,
  { adapterFor, runHookOnce }: FreezeTools,
): Promise<HeldPoints> {
  const started = Date.now();
  const deadline = started + plan.maxFreezeMs;
  const bound = new AbortController();
  const expiry = setTimeout(
    () => bound.abort(new FreezeError(`the freeze reached its bound of ${plan.maxFreezeMs} ms`)),
    plan.maxFreezeMs,
  );
  const freezeSignal = AbortSignal.any([signal, bound.signal]);
  const held = new Releases();
  const points = new Map<string, SnapshotPoint>();
  const hookDetails: string[] = [];
  // A pause never needs to outlive the freeze's own bound.
  const leaseMs = Math.min(plan.leaseMs, plan.maxFreezeMs);
  let pointAt = 0;
  try {
    await untilAborted(freezeSignal, async () => {
      if (plan.pause) hookDetails.push(await callGate(runHookOnce, 'pause', plan, deadline, freezeSignal));
      const ctx = (member: GroupMember): FreezeContext => ({
        stagingId: member.stagingId,
        signal: freezeSignal,
        deadline,
        leaseMs,
        scratchDir: plan.scratchDir,
      });
      const freezes = await Promise.all(
        plan.members.map(async (m) => {
          const freeze = await adapterFor(m.datastore).freezeWrites?.(m.datastore, ctx(m));
          if (freeze) held.add(() => freeze.release());
          return freeze;
        }),
      );
      held.renewEvery(
        freezes.filter((f): f is WriteFreeze => f?.renew !== undefined),
        leaseMs / 3,
      );
      await Promise.all(
        plan.members.map(async (m) => {
          const point = await adapterFor(m.datastore).snapshotPoint(m.datastore, ctx(m));
          // A point that arrives after the bound hit is not kept: the freeze is over.
          if (freezeSignal.aborted) await point.close();
          else points.set(m.service, point);
        }),
      );
      pointAt = Date.now();
    });
  } catch (err) {
    await Promise.all([...points.values()].map((p) => p.close().catch(() => {})));
    throw err;
  } finally {
    clearTimeout(expiry);
    await held.releaseAll();
    if (plan.resume)
      hookDetails.push(await callGate(runHookOnce, 'resume', plan, Date.now() + plan.resume.timeout, signal));
  }
  const released = Date.now();
  return {
    points,
    hookDetails,
    times: {
      frozenAt: new Date(started).toISOString(),
      pointAt: new Date(pointAt).toISOString(),
      releasedAt: new Date(released).toISOString(),
      freezeMs: released - started,
    },
  };
}

/** Runs the application's pause or resume hook; a pause that fails stops the freeze. */
async function callGate(
  runHookOnce: FreezeTools['runHookOnce'],
  event: 'pause' | 'resume',
  plan: FreezePlan,
  deadline: number,
  signal: AbortSignal,
): Promise<string> {
  const hook = event === 'pause' ? plan.pause! : plan.resume!;
  const bounded = { ...hook, timeout: Math.max(1, Math.min(hook.timeout, deadline - Date.now())) };
  const context = { ...plan.context, event, group: plan.group, freezeTimeoutMs: plan.maxFreezeMs };
  const result = await runHookOnce(bounded, context, signal);
  if (!result.ok) {
    if (event === 'pause')
      throw new FreezeError(`the pause hook of group ${plan.group} failed: ${result.detail}`);
    return `resume failed: ${result.detail}`;
  }
  return `${event}: ${result.detail || 'ok'} (${result.durationMs} ms)`;
}

/** Runs `work`, but gives up (rejecting with the abort reason) as soon as `signal` aborts. */
async function untilAborted(signal: AbortSignal, work: () => Promise<void>): Promise<void> {
  let onAbort: () => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () =>
      reject(signal.reason instanceof Error ? signal.reason : new FreezeError('the freeze was cancelled'));
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([work(), aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * What must be undone, newest first. Something acquired after the release (a lock that
 * was still being waited for when the bound hit) is released the moment it is added.
 */
class Releases {
  private readonly pending: (() => Promise<void>)[] = [];
  private released = false;
  private renewer?: NodeJS.Timeout;

  add(release: () => Promise<void>): void {
    if (this.released) void release().catch(() => {});
    else this.pending.push(release);
  }

  renewEvery(freezes: WriteFreeze[], intervalMs: number): void {
    if (freezes.length === 0 || this.released) return;
    this.renewer = setInterval(() => freezes.forEach((f) => void f.renew!().catch(() => {})), intervalMs);
  }

  async releaseAll(): Promise<void> {
    this.released = true;
    clearInterval(this.renewer);
    for (const release of this.pending.reverse()) await release().catch(() => {});
  }
}
