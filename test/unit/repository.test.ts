import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { BackupEntry } from '../../repository/records/catalog';
import { Repository } from '../../repository/repository';
import { catalogEntry } from '../../repository/testing';
import { recordSameMillisecond } from '../support/repository';
import { tempDir } from '../support/temp-dir';

/** The codec on the test's own thread: the unit tier runs sources, with no built worker. */
const inline = { workers: 0 };

function entry(id: string, services: Record<string, { sha256: string; size: number }>): BackupEntry {
  return {
    id,
    app: 'shop',
    workflowId: `backup/shop/${id}`,
    startedAt: `2026-11-21T10:00:0${id.slice(-1)}Z`,
    completedAt: `2026-11-21T10:00:0${id.slice(-1)}Z`,
    status: 'complete',
    services: Object.fromEntries(
      Object.entries(services).map(([s, ref]) => [
        s,
        { kind: 'sqlite', snapshot: ref, takenAt: '2026-11-21T10:00:00Z', verified: true },
      ]),
    ),
    failures: {},
    dependsOn: {},
  };
}

test('the same content is stored once; verify reports each damaged pack with the backups and services it affects', async () => {
  const root = path.join(tempDir(), 'repo');
  const repo = await Repository.openLocal(root, inline);
  const a = await repo.storeSnapshot(Readable.from([Buffer.from('orders table v1')]));
  const again = await repo.storeSnapshotWithStats(Readable.from([Buffer.from('orders table v1')]));
  const b = await repo.storeSnapshot(Readable.from([Buffer.from('catalog table v1')]));
  expect(again.ref).toEqual(a);
  expect(again.stats.storedBytes).toBe(0);
  await repo.saveBackup(entry('b1', { orders: a, catalog: b }));
  await repo.saveBackup(entry('b2', { orders: a }));
  expect((await repo.verify({ readData: true })).problems).toEqual([]);

  // Flip one bit of the pack that holds the orders, delete the one that holds the catalog.
  const packOf = (tree: string) => {
    const pack = repo.engine.index.find(tree)!.pack;
    return path.join(root, 'data', pack.slice(0, 2), pack);
  };
  const bytes = await fs.readFile(packOf(a.tree!));
  bytes[3] ^= 0x01;
  await fs.writeFile(packOf(a.tree!), bytes);
  await fs.rm(packOf(b.tree!));

  const report = await repo.verify({ readData: true });
  expect(report.snapshots).toBe(2);
  const missing = report.problems.find((p) => p.problem === 'missing');
  expect(missing?.affects).toEqual([{ app: 'shop', backupId: 'b1', service: 'catalog' }]);
  const damaged = report.problems.filter((p) => p.subject.startsWith('blob '));
  expect(damaged).toHaveLength(1);
  expect(damaged[0].problem).toMatch(/authentication failed|damaged/);
  expect(damaged[0].affects).toEqual([
    { app: 'shop', backupId: 'b1', service: 'orders' },
    { app: 'shop', backupId: 'b2', service: 'orders' },
  ]);
});

test('a catalog entry is written once: the same entry again is a no-op, a different one is refused', async () => {
  const repo = await Repository.openLocal(path.join(tempDir(), 'repo'), inline);
  const ref = await repo.storeSnapshot(Readable.from([Buffer.from('x')]));
  await repo.saveBackup(entry('b1', { a: ref }));
  await repo.saveBackup(entry('b1', { a: ref }));
  await expect(repo.saveBackup(entry('b1', { z: ref }))).rejects.toThrow(/already in the catalog/);
  expect((await repo.listBackups('shop')).map((e) => Object.keys(e.services))).toEqual([['a']]);
});

test('the latest verified backup is the default; a partial one is passed over', async () => {
  const repo = await Repository.openLocal(path.join(tempDir(), 'repo'), inline);
  const ref = await repo.storeSnapshot(Readable.from([Buffer.from('x')]));
  await repo.saveBackup(entry('b1', { a: ref }));
  await repo.saveBackup({ ...entry('b2', { a: ref }), status: 'partial', failures: { b: 'boom' } });
  expect((await repo.findBackup('shop')).id).toBe('b1');
  await expect(repo.findBackup('other')).rejects.toThrow('application "other" has no verified backup yet');
  await expect(repo.findBackup('shop', 'nope')).rejects.toThrow('no backup "nope" of application "shop"');
});

test('opening a repository clears writes a killed worker left, but not live ones', async () => {
  const root = path.join(tempDir(), 'repo');
  await Repository.openLocal(root, inline);
  await fs.mkdir(path.join(root, 'data', 'ab'), { recursive: true });
  const dead = path.join(root, 'data', 'ab', 'a.b.partial');
  const live = path.join(root, 'data', 'ab', 'c.d.partial');
  await fs.writeFile(dead, 'half a pack');
  await fs.writeFile(live, 'a pack being written');
  const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
  await fs.utimes(dead, twoHoursAgo, twoHoursAgo);
  await Repository.openLocal(root, inline);
  expect(await fs.readdir(path.join(root, 'data', 'ab'))).toEqual(['c.d.partial']);
});

test('with tiers backed up apart, the latest backup holding the services asked for is found without reading the whole catalog', async () => {
  const repo = await Repository.openLocal(path.join(tempDir(), 'repo'), inline);
  const ref = await repo.storeSnapshot(Readable.from([Buffer.from('x')]));
  // 60 backups, a minute apart: orders in every one, files in every tenth (its tier runs less often).
  const ids: string[] = [];
  for (let minute = 0; minute < 60; minute++) {
    const at = `2026-11-21T10:${String(minute).padStart(2, '0')}:00.000Z`;
    const id = at.replace(/[-:]/g, '');
    ids.push(id);
    await repo.saveBackup({
      ...catalogEntry(id, minute % 10 ? { orders: ref } : { orders: ref, files: ref }, at),
    });
  }
  const reads = jest.spyOn(repo.backend, 'read');
  const catalogReads = () => reads.mock.calls.filter(([key]) => key.startsWith('catalog/')).length;

  expect((await repo.findBackup('shop', undefined, ['orders'])).id).toBe(ids[59]);
  expect(catalogReads()).toBe(1);
  reads.mockClear();
  expect((await repo.findBackup('shop', undefined, ['orders', 'files'])).id).toBe(ids[50]);
  expect(catalogReads()).toBe(10);

  // A service no backup holds: the error names the parts that can be restored, and from where.
  await expect(repo.findBackup('shop', undefined, ['files', 'ledger', 'orders'])).rejects.toThrow(
    `restore them in parts, dependencies first: --services files,orders --backup ${ids[50]}; ledger has no verified backup yet: back it up first`,
  );
});

test('backups started in the same millisecond each get an entry; a retried record adds none', async () => {
  const repo = await Repository.openLocal(path.join(tempDir(), 'repo'), inline);
  const { ids, retried, listed, runs } = await recordSameMillisecond(repo);
  expect(new Set(ids).size).toBe(10);
  expect(ids).toContain('20261121T100000.000Z');
  expect([...ids].sort()[9]).toBe('20261121T100000.009Z'); // the next free milliseconds
  expect(retried).toBe(ids[3]);
  expect(listed).toHaveLength(10);
  expect(new Set(listed.map((b) => b.workflowId))).toEqual(new Set(runs.map((r) => r.workflowId)));
});

test('a repository in memory (memory://) keeps the same format: a second open sees what the first stored', async () => {
  const spec = { location: 'memory://repository-test' };
  await expect(Repository.open(spec, inline)).rejects.toThrow(
    'no Lazarus repository at memory://repository-test',
  );
  const repo = await Repository.open(spec, { ...inline, create: true });
  const ref = await repo.storeSnapshot(Readable.from([Buffer.from('orders\n'.repeat(50_000))]));
  await repo.saveBackup(catalogEntry('b1', { orders: ref }));
  const again = await Repository.open(spec, inline);
  expect(await again.hasSnapshot(ref)).toBe(true);
  expect((await again.verify({ readData: true })).problems).toEqual([]);
  await Promise.all([repo.close(), again.close()]);
});
