import type { BaseRecord, LogRecord } from '../../contracts/streams';
import { planReplay, streamRetention, timelineOf } from '../../model/timeline';

const ref = { sha256: 'x', size: 1 };
const at = (s: number) => new Date(Date.UTC(2026, 11, 1, 9, 0, s)).toISOString();

function log(name: string, start: number, end: number, from: number, to: number, lineage = 'a'): LogRecord {
  return {
    name,
    sealed: true,
    lineage,
    start: { position: String(start), offset: start },
    end: { position: String(end), offset: end },
    timeQuality: 'exact',
    snapshot: ref,
    marks: ref,
    firstTime: at(from),
    lastTime: at(to),
    durableAt: at(to),
  };
}

function base(id: string, start: number, end: number, consistent: number, lineage = 'a'): BaseRecord {
  return {
    id,
    snapshot: ref,
    lineage,
    start: { position: String(start), offset: start },
    end: { position: String(end), offset: end },
    takenAt: at(consistent - 1),
    consistentAt: at(consistent),
  };
}

describe('a stream timeline', () => {
  const logs = [log('1', 0, 100, 0, 10), log('2', 100, 200, 10, 20), log('3', 200, 300, 20, 30)];

  test('is restorable from the base consistent end to the log durable end', () => {
    const timeline = timelineOf([base('b1', 50, 60, 5)], logs);
    expect(timeline.intervals).toEqual([{ from: at(5), to: at(30), lineage: 'a', base: 'b1' }]);
    expect(timeline.gaps).toEqual([]);
  });

  test('picks the newest base whose consistent end is at or before the target', () => {
    const bases = [base('b1', 50, 60, 5), base('b2', 150, 160, 15)];
    const early = planReplay(bases, logs, { kind: 'time', time: at(12) });
    const late = planReplay(bases, logs, { kind: 'time', time: at(25) });
    expect('base' in early && early.base.id).toBe('b1');
    expect('base' in late && late.base.id).toBe('b2');
    expect('logs' in late && late.logs.map((l) => l.name)).toEqual(['2', '3']);
  });

  test('refuses targets before the oldest base and in the future, naming the window', () => {
    const bases = [base('b1', 50, 60, 5)];
    const before = planReplay(bases, logs, { kind: 'time', time: at(2) });
    const future = planReplay(bases, logs, { kind: 'time', time: at(45) });
    expect('problem' in before && before.problem).toMatch(/before the oldest restorable point.*to/);
    expect('problem' in future && future.problem).toMatch(/after the newest durable point/);
  });

  test('reports a gap and refuses a restore past it, while one before it still plans', () => {
    const holed = [logs[0], logs[2]];
    const timeline = timelineOf([base('b1', 50, 60, 5)], holed);
    expect(timeline.gaps).toHaveLength(1);
    expect(timeline.gaps[0].bytes).toBe(100);
    const past = planReplay([base('b1', 50, 60, 5)], holed, { kind: 'time', time: at(25) });
    expect('problem' in past && past.problem).toMatch(/gap after 1 \(100 bytes missing/);
    expect('base' in planReplay([base('b1', 50, 60, 5)], holed, { kind: 'time', time: at(8) })).toBe(true);
    const latest = planReplay([base('b1', 50, 60, 5)], holed, { kind: 'latest' });
    expect('problem' in latest && latest.problem).toMatch(/gap/);
  });

  test('a fork continues its parent from the fork point; targets on both lineages plan', () => {
    const fork = { ...log('2b', 100, 250, 40, 50, 'b'), forkedFrom: { lineage: 'a', offset: 150 } };
    const all = [...logs, fork];
    const bases = [base('b1', 50, 60, 5)];
    const onOld = planReplay(bases, all, { kind: 'time', time: at(25) });
    const onNew = planReplay(bases, all, { kind: 'time', time: at(45) });
    expect('lineage' in onOld && onOld.lineage).toBe('a');
    expect('lineage' in onNew && onNew.logs.map((l) => l.name)).toEqual(['1', '2', '2b']);
    expect(timelineOf(bases, all).forks).toEqual([{ lineage: 'b', from: { lineage: 'a', offset: 150 } }]);
  });

  test('a position target finds a base at or before it on its lineage', () => {
    const plan = planReplay([base('b1', 50, 60, 5)], logs, {
      kind: 'position',
      lineage: 'a',
      offset: 120,
      position: '120',
    });
    expect('logs' in plan && plan.logs.map((l) => l.name)).toEqual(['1', '2', '3']);
  });
});

describe('stream retention', () => {
  const logs = [log('1', 0, 100, 0, 10), log('2', 100, 200, 10, 20), log('3', 200, 300, 20, 30)];
  const bases = [base('b1', 10, 20, 2), base('b2', 110, 120, 12), base('b3', 210, 220, 22)];

  test('keeps the newest base at or before the window start, newer ones and every log they need', () => {
    const plan = streamRetention(bases, logs, 15_000, Date.parse(at(30)));
    expect(plan.removeBases.map((b) => b.id)).toEqual(['b1']);
    expect(plan.removeLogs.map((l) => l.name)).toEqual(['1']);
    expect(plan.restorableFrom).toBe(at(12));
  });

  test('never expires a log a kept base needs, however old', () => {
    const plan = streamRetention([bases[0]], logs, 1000, Date.parse(at(300)));
    expect(plan.removeBases).toEqual([]);
    expect(plan.removeLogs).toEqual([]);
  });
});

test('an open file a sealed one covers is no gap and is not replayed twice', () => {
  const partial = { ...log('2.partial', 100, 150, 10, 15), sealed: false };
  const logs = [log('1', 0, 100, 0, 10), partial, log('2', 100, 200, 10, 20), log('3', 200, 300, 20, 30)];
  const bases = [base('b1', 50, 60, 5)];
  expect(timelineOf(bases, logs).gaps).toEqual([]);
  const plan = planReplay(bases, logs, { kind: 'time', time: at(25) });
  expect('logs' in plan && plan.logs.map((l) => l.name)).toEqual(['1', '2', '3']);
});
