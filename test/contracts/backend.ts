/**
 * What every storage backend promises (repository/storage/backend.ts), written once and
 * run over each of them (restic's backend test suite, kopia's VerifyStorage): local and
 * memory in the unit tier, S3 against a real server in the integration tier.
 */
import { NotFoundError, type StorageBackend, type StoredObject } from '../../repository/storage/backend';

async function listed(backend: StorageBackend, prefix: string): Promise<StoredObject[]> {
  const objects: StoredObject[] = [];
  for await (const object of backend.list(prefix)) objects.push(object);
  return objects.sort((a, b) => a.key.localeCompare(b.key));
}

/** `fresh` gives an empty backend for each test. */
export function backendContract(name: string, fresh: () => Promise<StorageBackend>): void {
  describe(`the ${name} backend`, () => {
    test('put stores a value whole; a read gives it back, or any range of it', async () => {
      const backend = await fresh();
      await backend.put('a/one', Buffer.from('0123456789'));
      expect((await backend.read('a/one')).toString()).toBe('0123456789');
      expect((await backend.read('a/one', { offset: 3, length: 4 })).toString()).toBe('3456');
      expect(await backend.stat('a/one')).toEqual({ size: 10 });
    });

    test('what is stored does not change when the writer reuses its buffer', async () => {
      const backend = await fresh();
      const data = Buffer.from('original');
      await backend.put('k', data);
      data.fill(0);
      expect((await backend.read('k')).toString()).toBe('original');
    });

    test('create writes only where nothing is: false, and the first value kept, when the key exists', async () => {
      const backend = await fresh();
      expect(await backend.create('a/two', Buffer.from('first'))).toBe(true);
      expect(await backend.create('a/two', Buffer.from('second'))).toBe(false);
      expect((await backend.read('a/two')).toString()).toBe('first');
    });

    test('of creators racing for one key, exactly one wins', async () => {
      const backend = await fresh();
      const wins = await Promise.all(
        Array.from({ length: 8 }, (_, i) => backend.create('race', Buffer.from(`writer ${i}`))),
      );
      expect(wins.filter(Boolean)).toHaveLength(1);
      expect((await backend.read('race')).toString()).toBe(`writer ${wins.indexOf(true)}`);
    });

    test('an absent key is an answer: a NotFoundError on read, undefined on stat', async () => {
      const backend = await fresh();
      await expect(backend.read('nowhere/k')).rejects.toBeInstanceOf(NotFoundError);
      await expect(backend.read('nowhere/k', { offset: 0, length: 1 })).rejects.toBeInstanceOf(NotFoundError);
      expect(await backend.stat('nowhere/k')).toBeUndefined();
    });

    test('list gives every object under a folder, nested ones too, with sizes, and nothing else', async () => {
      const backend = await fresh();
      await backend.put('data/ab/one', Buffer.from('12345'));
      await backend.put('data/cd/two', Buffer.from('1'));
      await backend.put('index/three', Buffer.from('123'));
      expect(await listed(backend, 'data/')).toEqual([
        { key: 'data/ab/one', size: 5 },
        { key: 'data/cd/two', size: 1 },
      ]);
      expect(await listed(backend, 'locks/')).toEqual([]);
    });

    test('remove deletes a key; removing it again (a retried delete) is no error', async () => {
      const backend = await fresh();
      await backend.put('a/one', Buffer.from('x'));
      await backend.remove('a/one');
      await backend.remove('a/one');
      expect(await backend.stat('a/one')).toBeUndefined();
      await expect(backend.read('a/one')).rejects.toBeInstanceOf(NotFoundError);
      expect(await listed(backend, 'a/')).toEqual([]);
    });
  });
}
