/**
 * Where a replay stops, from what capture recorded: a time through the files' marks (each
 * GTID with the latest time it can have), a position or the latest through their offsets,
 * a name through the mark statement found in the files. Refuses targets the logs do not
 * reach, with the window they do.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { LogFile, ReplayTarget } from '../../capture';
import { BinlogReader, GroupAssembler, scanGroups, type EventGroup } from './binlog';
import { markTable } from './mark';
import { gtidText, offsetOf } from './points';

type Mark = LogFile['marks'][number];

/** The group the replay ends with; undefined: the base itself, nothing to replay. */
export type Stop = Mark | undefined;

export class TargetError extends Error {}

/** The files continue one another: each starts where the one before ended. */
export function checkContinuity(logs: LogFile[]): void {
  if (logs.length === 0) throw new TargetError('mariadb: no captured binlog files to replay from');
  for (let i = 1; i < logs.length; i++) {
    const [before, after] = [logs[i - 1], logs[i]];
    if (after.lineage !== before.lineage || after.start.offset !== before.end.offset)
      throw new TargetError(
        `mariadb: the captured log has a gap between ${before.name} (ends ${before.end.position}) and ${after.name} ` +
          `(starts ${after.start.position}): a replay across it would silently miss changes`,
      );
  }
}

export async function resolveStop(
  target: ReplayTarget,
  logs: LogFile[],
  logDir: string,
  baseOffset: number,
): Promise<Stop> {
  const marks = logs.flatMap((f) => f.marks);
  const window = describeWindow(marks, baseOffset);
  const afterBase = marks.filter((m) => m.offset > baseOffset);
  switch (target.kind) {
    case 'latest':
      return afterBase.at(-1);
    case 'position': {
      const end = logs.at(-1)!.end.offset;
      if (target.offset > end || target.offset < baseOffset)
        throw new TargetError(`mariadb: position ${target.position} is outside the captured log (${window})`);
      return afterBase.filter((m) => m.offset <= target.offset).at(-1);
    }
    case 'time':
      return byTime(Date.parse(target.time), target.time, marks, afterBase, baseOffset, window);
    case 'name':
      return byName(target.name, logs, logDir, baseOffset, window);
  }
}

function byTime(
  t: number,
  text: string,
  marks: Mark[],
  afterBase: Mark[],
  baseOffset: number,
  window: string,
): Stop {
  if (Number.isNaN(t)) throw new TargetError(`mariadb: target time ${text} is not an ISO time`);
  const last = marks.at(-1);
  if (!last || t > Date.parse(last.time))
    throw new TargetError(
      `mariadb: ${text} is past the captured log (${window}): nothing shows the changes up to it were captured`,
    );
  const beforeBase = marks.filter((m) => m.offset <= baseOffset).at(-1);
  if (beforeBase && Date.parse(beforeBase.time) > t)
    throw new TargetError(
      `mariadb: ${text} is before the base's consistent point (${window}): use an older base`,
    );
  return afterBase.filter((m) => Date.parse(m.time) <= t).at(-1);
}

async function byName(
  name: string,
  logs: LogFile[],
  logDir: string,
  baseOffset: number,
  window: string,
): Promise<Stop> {
  const statement = `DROP TABLE IF EXISTS \`${markTable(name)}\``;
  let found: EventGroup | undefined;
  let file = '';
  await eachGroup(logs, logDir, (group, name) => {
    if (found || offsetOf({ file: name, pos: group.end }) <= baseOffset) return;
    if (group.statements.some((s) => s.startsWith(statement))) [found, file] = [group, name];
  });
  if (!found)
    throw new TargetError(`mariadb: no mark named ${name} in the captured log after the base (${window})`);
  const offset = offsetOf({ file, pos: found.end });
  return logs.flatMap((f) => f.marks).find((m) => m.offset === offset);
}

/**
 * The last GTID at or before `stop` that the replay applies to `database`: what the
 * recovered server must show it reached (mariadb-binlog --database skips the others).
 * Refuses when the downloaded files do not hold the stop's transaction (cut short).
 */
export async function lastAppliedTo(
  database: string,
  logs: LogFile[],
  logDir: string,
  fromOffset: number,
  stop: Mark,
): Promise<string | undefined> {
  let last: string | undefined;
  let stopFound = false;
  await eachGroup(logs, logDir, (group, name) => {
    const end = offsetOf({ file: name, pos: group.end });
    if (end === stop.offset) stopFound = true;
    if (end > fromOffset && end <= stop.offset && group.databases.has(database)) last = gtidText(group.gtid);
  });
  if (!stopFound)
    throw new TargetError(
      `mariadb: the downloaded binlog files in ${logDir} do not hold the target's transaction ${stop.position} ` +
        '(a file cut short or missing): download them again',
    );
  return last;
}

/** Every complete group of the files, in order, read from logDir. */
async function eachGroup(
  logs: LogFile[],
  logDir: string,
  onGroup: (group: EventGroup, file: string) => void,
) {
  for (const log of logs) {
    const file = path.join(logDir, log.name);
    const { size } = await fs.stat(file).catch(() => {
      throw new TargetError(`mariadb: ${log.name} was not downloaded into ${logDir}`);
    });
    const reader = await BinlogReader.open(file);
    try {
      await scanGroups(reader, new GroupAssembler(), 0, size, (g) => onGroup(g, log.name));
    } finally {
      await reader.close();
    }
  }
}

function describeWindow(marks: Mark[], baseOffset: number): string {
  const first = marks.find((m) => m.offset > baseOffset);
  const last = marks.at(-1);
  if (!first || !last) return 'no transaction captured after the base';
  return `restorable from the base to ${last.time} (${last.position}); first transaction after the base at ${first.time}`;
}
