/**
 * A NATS restore: the archive is restored into a scratch nats-server and each staged
 * stream checked against the state its snapshot recorded; only then is each live stream
 * deleted and restored from the staged copy under its own name. A failure before that
 * (a cut-off or damaged archive, a failed check) leaves the live server untouched.
 *
 * The swap is not atomic: while a stream is between its delete and the end of its
 * restore, JetStream publishes to its subjects get no responders and core NATS
 * publishes to them are dropped. A retried restore deletes and restores again, so it
 * replaces whatever a half-finished attempt left.
 */
import type { Readable } from 'node:stream';
import type { StreamState } from 'nats';
import { UserError } from '../../model/errors';
import type { AdapterContext } from '../adapter';
import { type ArchiveEvent, FORMAT, readArchive } from './archive';
import {
  type Server,
  type StreamHeader,
  deleteStream,
  describeStream,
  restoreStream,
  snapshotStream,
  streamInfo,
  withServer,
} from './jetstream';
import { startScratchServer } from './scratch';

/**
 * Restores every stream the archive holds. Streams the store names that the archive
 * lacks (named after the backup) are left as they are: the snapshot says nothing of them.
 */
export async function restoreArchive(live: Server, data: Readable, ctx: AdapterContext): Promise<void> {
  const scratch = await startScratchServer(ctx.stagingId);
  try {
    await withServer(scratch.url, {}, `the staging nats-server at ${scratch.url}`, async (stage) => {
      const staged = await stageArchive(stage, data, ctx.signal);
      for (const { name, header } of staged)
        checkState(name, (await streamInfo(stage, name))?.state, header, 'staged');
      await checkSubjectsFree(live, staged);
      ctx.signal.throwIfAborted();
      // Past this point the live server changes: the swap runs to its end, whatever the signal says.
      for (const { name, header } of staged) await swapIn(stage, live, name, header);
    });
  } finally {
    await scratch.stop();
  }
}

interface Staged {
  name: string;
  header: StreamHeader;
}

async function stageArchive(stage: Server, data: Readable, signal: AbortSignal): Promise<Staged[]> {
  const events = readArchive(data);
  const staged: Staged[] = [];
  let listed: string[] | undefined;
  for (let next = await events.next(); !next.done; next = await events.next()) {
    const event = next.value;
    if (event.type === 'header' && event.format === FORMAT && !listed) listed = event.streams;
    else if (event.type === 'stream' && listed) {
      await restoreStream(stage, event.header, chunksOf(events, event.name), signal);
      staged.push({ name: event.name, header: event.header });
    } else throw new Error(`NATS snapshot is damaged or not ${FORMAT} (an unexpected ${event.type} frame)`);
  }
  const names = staged.map((s) => s.name);
  if (!listed || names.join(',') !== listed.join(','))
    throw new Error(`NATS snapshot is damaged: it lists ${listed?.join(', ')} but holds ${names.join(', ')}`);
  return staged;
}

/** One stream's chunks, checked against the count and size its end frame recorded. */
async function* chunksOf(events: AsyncGenerator<ArchiveEvent>, name: string): AsyncGenerator<Buffer> {
  let chunks = 0;
  let bytes = 0;
  for (;;) {
    const { value, done } = await events.next();
    if (done) throw new Error(`NATS snapshot is truncated inside ${describeStream(name)}`);
    if (value.type === 'chunk') {
      chunks += 1;
      bytes += value.data.length;
      yield value.data;
    } else if (
      value.type === 'end' &&
      value.name === name &&
      value.chunks === chunks &&
      value.bytes === bytes
    ) {
      return;
    } else throw new Error(`NATS snapshot is damaged inside ${describeStream(name)}`);
  }
}

/** The live stream replaced by the staged one: deleted if present, then restored under its name. */
async function swapIn(stage: Server, live: Server, name: string, header: StreamHeader): Promise<void> {
  await deleteStream(live, name);
  const { header: staged, chunks } = await snapshotStream(stage, name);
  const info = await restoreStream(live, staged, chunks);
  checkState(name, info.state, header, 'restored');
}

/** A stream holds what its snapshot recorded: the same messages, bytes and sequence range. */
function checkState(name: string, state: StreamState | undefined, header: StreamHeader, where: string): void {
  const want = header.state;
  const fields = ['messages', 'bytes', 'first_seq', 'last_seq'] as const;
  const off = fields.filter((f) => state?.[f] !== want[f]);
  if (off.length === 0) return;
  const got = state ? off.map((f) => `${f} ${state[f]}`).join(', ') : 'nothing';
  const expected = off.map((f) => `${f} ${want[f]}`).join(', ');
  throw new Error(
    `nats: the ${where} ${describeStream(name)} holds ${got}; its snapshot recorded ${expected}`,
  );
}

/**
 * The live server's other streams must not take a subject a restored stream takes: the
 * server would refuse the restore, but only after the live stream had been deleted.
 */
async function checkSubjectsFree(live: Server, staged: Staged[]): Promise<void> {
  const ours = new Set(staged.map((s) => s.name));
  for await (const other of live.jsm.streams.list()) {
    if (ours.has(other.config.name)) continue;
    for (const { name, header } of staged)
      for (const subject of header.config.subjects ?? [])
        for (const taken of other.config.subjects ?? [])
          if (subjectsOverlap(subject, taken))
            throw new UserError(
              `nats: stream ${other.config.name} on ${live.label} takes subject ${taken}, which the snapshot's ` +
                `${describeStream(name)} takes (${subject}); change or remove ${other.config.name} before restoring`,
            );
  }
}

/** Could one subject match both patterns? `*` is one token, `>` the rest. */
export function subjectsOverlap(a: string, b: string): boolean {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] === '>' || y[i] === '>') return x[i] !== undefined && y[i] !== undefined;
    if (x[i] === undefined || y[i] === undefined) return false;
    if (x[i] !== '*' && y[i] !== '*' && x[i] !== y[i]) return false;
  }
  return true;
}
