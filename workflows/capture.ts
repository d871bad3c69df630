/**
 * Continuous capture of one store's log: a workflow that runs until stopped. Each session
 * is one long heartbeating activity that streams the log into the repository; a base
 * backup is taken beside it whenever one is due (none yet, too old, a gap, a new lineage).
 * It carries only the last durable point, and continues as new before its history grows
 * long. Workflow ID `capture/<app>/<service>`.
 */
import {
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
  uuid4,
  workflowInfo,
  ActivityFailure,
  ApplicationFailure,
} from '@temporalio/workflow';
import type { Activities, DurablePoint, StreamState } from '../activities';
import type { RepositorySpec } from '../contracts/repository-spec';
import type { Datastore } from '../model/manifest';
import type { PitrPolicy } from '../model/pitr-policy';
import { baseStep, captureSessionStep, catalogStep } from './activity-options';

export interface CaptureStreamInput {
  spec: { app: string; repository: RepositorySpec };
  service: string;
  datastore: Datastore;
  policy: PitrPolicy;
  resumeFrom?: DurablePoint;
  /** Sessions run by earlier runs of this chain (continue-as-new). */
  sessions?: number;
}

export interface CaptureStatus {
  sessions: number;
  durable?: DurablePoint;
  lastState?: StreamState;
  lastError?: string;
  /** What storing the growing log cost over the finished sessions (see SessionOutput). */
  uploads?: { count: number; bytesRead: number; bytesNew: number; bytesStored: number };
  /** A session ended on a gap: the next takes a new base whatever the state says. */
  gapSeen?: boolean;
  stopping: boolean;
}

/** Ends the capture after the running session has stored what it holds. */
export const stopCaptureSignal = defineSignal('stopCapture');
export const captureStatusQuery = defineQuery<CaptureStatus>('captureStatus');

const { capturePreflight, streamState } = proxyActivities<Activities>(catalogStep);
const { captureBase } = proxyActivities<Activities>(baseStep);

/** Sessions per run before continuing as new, whatever the history's size. */
const SESSIONS_PER_RUN = 50;

export async function captureStream(input: CaptureStreamInput): Promise<CaptureStatus> {
  const status: CaptureStatus = { sessions: input.sessions ?? 0, durable: input.resumeFrom, stopping: false };
  setHandler(stopCaptureSignal, () => void (status.stopping = true));
  setHandler(captureStatusQuery, () => status);
  const stream = {
    repository: input.spec.repository,
    app: input.spec.app,
    service: input.service,
    datastore: input.datastore,
  };
  if (status.sessions === 0) {
    const missing = await capturePreflight({ datastore: input.datastore });
    if (missing.length > 0) {
      const list = missing
        .map((r) => `${r.setting}: found ${r.found}, needs ${r.needed} (${r.fix})`)
        .join('; ');
      throw ApplicationFailure.nonRetryable(
        `${input.service} is not ready for capture: ${list}`,
        'UserError',
      );
    }
  }
  for (let run = 0; !status.stopping && run < SESSIONS_PER_RUN; run++) {
    await oneSession(input, stream, status);
    if (workflowInfo().continueAsNewSuggested) break;
  }
  if (status.stopping) return status;
  return continueAsNew<typeof captureStream>({
    ...input,
    resumeFrom: status.durable,
    sessions: status.sessions,
  });
}

type Stream = { repository: RepositorySpec; app: string; service: string; datastore: Datastore };

/** One session, with a base taken beside it when due (after the session started, so its log is captured). */
async function oneSession(input: CaptureStreamInput, stream: Stream, status: CaptureStatus): Promise<void> {
  const { policy } = input;
  const sessionMs = Math.min(policy.session, policy.base_every);
  const session = proxyActivities<Activities>(captureSessionStep(sessionMs)).captureSession;
  const scope = new CancellationScope();
  const running = scope.run(() =>
    session({
      ...stream,
      streamName: streamNameOf(input),
      resumeFrom: status.durable,
      sessionMs,
      uploadEveryMs: policy.upload_every,
    }),
  );
  const base = takeBaseIfDue(stream, policy, status);
  const stopped = condition(() => status.stopping);
  await Promise.race([
    running.then(
      () => undefined,
      () => undefined,
    ),
    stopped,
  ]);
  if (status.stopping) scope.cancel();
  try {
    const out = await running;
    status.durable = out.durable ?? status.durable;
    const sum = status.uploads ?? { count: 0, bytesRead: 0, bytesNew: 0, bytesStored: 0 };
    status.uploads = {
      count: sum.count + out.uploads,
      bytesRead: sum.bytesRead + out.bytesRead,
      bytesNew: sum.bytesNew + out.bytesNew,
      bytesStored: sum.bytesStored + out.bytesStored,
    };
  } catch (err) {
    if (!isCancellation(err)) status.lastError = (err as Error).message;
    if (isGap(err)) {
      // The log cannot continue from the durable point: start at the head, with a new base.
      status.durable = undefined;
      status.gapSeen = true;
    }
  }
  await base;
  status.sessions++;
}

async function takeBaseIfDue(stream: Stream, policy: PitrPolicy, status: CaptureStatus): Promise<void> {
  // The session gets its first upload in before the base starts: the base's log is then captured.
  await sleep(Math.max(2000, policy.upload_every * 2));
  status.lastState = await streamState({ ...stream, baseEveryMs: policy.base_every });
  if (!status.lastState.baseDue && !status.gapSeen) return;
  status.gapSeen = false;
  try {
    await captureBase({ ...stream, baseId: uuid4() });
  } catch (err) {
    status.lastError = `base: ${(err as Error).message}`;
  }
}

function isGap(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && cause.type === 'CaptureGap';
}

/** What the engine names its hold on the source (a replication slot): letters, digits, `_`. */
export function streamNameOf(input: { spec: { app: string }; service: string }): string {
  return `lazarus_${input.spec.app}_${input.service}`
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 63);
}
