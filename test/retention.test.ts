/** Retention rules, forget plans and legal holds: which backups stay, and why. */
import path from 'node:path';
import { Readable } from 'node:stream';
import { backupIdAt } from '../contracts/ids';
import { defaultTierTargets } from '../model/manifest';
import type { BackupEntry } from '../repository/records/catalog';
import { planForget } from '../repository/maintenance/forget';
import { Repository } from '../repository/repository';
import { applyRetention } from '../repository/maintenance/retention';
import { lazarus } from './support/cli';
import { catalogEntry } from '../repository/testing';
import { tempDir, writeManifest } from './support/stores';

/** One backup every 6 hours for 60 days, newest last. */
const every6h = Array.from({ length: 240 }, (_, i) => {
  const at = new Date(Date.UTC(2026, 8, 23) + i * 6 * 3_600_000).toISOString();
  return { id: `b${String(i).padStart(3, '0')}`, at };
});

test('keep-last, hourly, daily, weekly, monthly, yearly and within each keep what they say', () => {
  const ids = (rules: Parameters<typeof applyRetention>[1]) => [...applyRetention(every6h, rules).keys()];
  expect(ids({ keep_last: 3 })).toEqual(['b239', 'b238', 'b237']);
  // Four backups a day: daily keeps the newest of each day.
  expect(ids({ daily: 3 })).toEqual(['b239', 'b235', 'b231']);
  expect(ids({ hourly: 2 })).toEqual(['b239', 'b238']);
  const weekly = applyRetention(every6h, { weekly: 2 });
  expect([...weekly.values()].flat()).toEqual(['weekly 2026-W47', 'weekly 2026-W46']);
  expect(ids({ monthly: 12 })).toEqual(['b239', 'b155', 'b031']); // the last of Nov, Oct, Sep
  expect(ids({ yearly: 5 })).toEqual(['b239']);
  expect(ids({ within: 24 * 3_600_000 })).toEqual(['b239', 'b238', 'b237', 'b236', 'b235']);
  expect(ids({})).toEqual([]);
  const both = applyRetention(every6h, { keep_last: 1, daily: 1 });
  expect(both.get('b239')).toEqual(['last 1', 'daily 2026-11-21']);
});

function backup(id: string, at: string, services: string[]): BackupEntry {
  return catalogEntry(id, Object.fromEntries(services.map((s) => [s, { sha256: 'x', size: 1 }])), at);
}

test('each tier keeps by its own rules; a backup any tier keeps is kept whole; holds and the newest are kept', () => {
  const days = Array.from(
    { length: 10 },
    (_, i) => `2026-11-${String(12 + i).padStart(2, '0')}T03:00:00.000Z`,
  );
  const backups = days.map((at, i) => backup(`d${i}`, at, i % 2 === 0 ? ['payments', 'media'] : ['media']));
  const plan = planForget(backups, {
    app: 'shop',
    serviceTiers: { payments: 'critical', media: 'archive' },
    tiers: {
      ...defaultTierTargets,
      critical: { ...defaultTierTargets.critical, retention: { daily: 3 } },
      archive: { ...defaultTierTargets.archive, retention: { keep_last: 2 } },
    },
    held: new Set(['d1']),
  });
  const kept = Object.fromEntries(plan.keep.map((k) => [k.id, [...k.reasons].sort()]));
  expect(kept).toEqual({
    d1: ['legal hold'],
    d4: ['critical: daily 2026-11-16'],
    d6: ['critical: daily 2026-11-18'],
    d8: ['archive: last 2', 'critical: daily 2026-11-20'],
    d9: ['archive: last 1', 'newest verified backup'],
  });
  expect(plan.remove.map((r) => r.id)).toEqual(['d0', 'd2', 'd3', 'd5', 'd7']);
});

test('forget is a dry run until --apply; a held backup is never removed, by forget or directly', async () => {
  const dir = tempDir();
  const manifest = await writeManifest(dir, {
    app: 'shop',
    services: { orders: { tier: 'standard', datastore: { kind: 'sqlite', path: 'orders.db' } } },
    tiers: { standard: { rto: '1h', rpo: '1d', retention: { keep_last: 1 } } },
  });
  const repo = await Repository.open({ location: path.join(dir, '.lazarus', 'repo') }, { create: true });
  const ref = await repo.storeSnapshot(Readable.from([Buffer.from('orders')]));
  // Backup IDs are their start times; `hold` refuses anything else.
  const times = ['2026-11-19', '2026-11-20', '2026-11-21'].map((day) => `${day}T00:00:00.000Z`);
  const [b1, b2, b3] = times.map((at) => backupIdAt(new Date(at)));
  for (const [i, id] of [b1, b2, b3].entries())
    await repo.saveBackup(catalogEntry(id, { orders: ref }, times[i]));
  expect(lazarus(['hold', manifest, b1]).stderr).toContain('--reason: say why the backup is held');
  const held = lazarus(['hold', manifest, b1, '--reason', 'case 4711', '--by', 'legal']);
  expect(held.code).toBe(0);
  await expect(repo.removeBackup('shop', b1)).rejects.toThrow(
    `backup shop/${b1} is under legal hold (case 4711, by legal)`,
  );
  expect(lazarus(['hold', manifest, '../../etc/passwd', '--reason', 'x'])).toMatchObject({
    code: 2,
    stderr:
      'lazarus: backup "../../etc/passwd" is not a backup ID: IDs read like 20261121T100000.000Z; `lazarus backups <manifest>` lists them\n',
  });

  const dry = JSON.parse(lazarus(['forget', manifest, '--json']).stdout);
  expect(dry.remove.map((b: { id: string }) => b.id)).toEqual([b2]);
  expect(dry.applied).toBe(false);
  expect((await repo.listBackups('shop')).map((b) => b.id)).toEqual([b1, b2, b3]);

  const applied = lazarus(['forget', manifest, '--apply']);
  expect(applied.code).toBe(0);
  expect(applied.stdout).toMatch(new RegExp(`${b1} .*keep .*legal hold`));
  expect(applied.stdout).toContain('removed 1 backups');
  expect((await repo.listBackups('shop')).map((b) => b.id)).toEqual([b1, b3]);

  expect(lazarus(['hold', manifest, b1, '--release']).code).toBe(0);
  expect(JSON.parse(lazarus(['hold', manifest, '--json']).stdout)).toEqual({});
  await repo.close();
});
