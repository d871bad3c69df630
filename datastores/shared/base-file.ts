import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ReplayInput } from '../capture';
import type { Datastore } from '../../model/manifest';

/**
 * For an engine that reads its base as a file (more than once, or not from the start:
 * MariaDB's dump header, Redis's feeder): the base streamed into `file`, and every log
 * file in its logDir, before the replay goes on.
 */
export async function baseOnDisk(
  input: Pick<ReplayInput<Datastore>, 'openBase' | 'logsArriving' | 'signal'>,
  file: string,
): Promise<string> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await Promise.all([
    pipeline(input.openBase(), createWriteStream(file), { signal: input.signal }),
    input.logsArriving,
  ]);
  if (input.signal.aborted) throw new Error('replay cancelled');
  return file;
}
