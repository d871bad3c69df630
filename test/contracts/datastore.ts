/**
 * The datastore contract, written once and run over every kind: a round trip gives the
 * same fingerprint, a restore can be retried, a restore cut off before its swap leaves
 * the target as it was, discard clears what it staged, and a drill's sandbox target is
 * never the production store. test/unit/datastores.test.ts runs it for the kinds that need
 * no server (and the sandbox check for every kind); test/datastores.contract.test.ts for
 * the kinds on this machine's servers.
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import { adapterFor } from '../../datastores/adapters';
import { type DatastoreKind, type StoreOf, datastoreSpecs, specFor } from '../../datastores/registry';
import type { Datastore } from '../../model/manifest';
import { Repository } from '../../repository/repository';
import { sandboxFor } from '../../workflows/sandbox';
import type { AppSpec } from '../../workflows/types';
import { sandboxStore } from '../../activities/drill';
import { flipBit, packFileOf } from '../support/repository';
import { tempDir } from '../support/stores';

export interface DatastoreFixture<K extends DatastoreKind> {
  /** A store holding data to back up, and the store restores go into, holding other data; fresh each call. */
  stores(): Promise<{ source: StoreOf<K>; target: StoreOf<K> }>;
  /** What restores into `target` left beside it (staging databases, files, keys): none once done or discarded. */
  leftovers(target: StoreOf<K>): Promise<unknown[]>;
  /** This kind's own checks of a restored copy, beyond an equal fingerprint. */
  checkRestored?(target: StoreOf<K>, source: StoreOf<K>): Promise<void>;
}

/** The staging IDs the contract's restores use. */
const stagingIds = ['test0001', 'cut00001', 'discard1', 'retry001', 'damage01'];

export const ctx = (stagingId = 'test0001') => ({ stagingId, signal: new AbortController().signal });

/** The snapshot's first `bytes`, then a failure: a restore whose input breaks before the swap. */
function cutOff(snapshot: Readable, bytes: number): Readable {
  async function* firstBytes() {
    let seen = 0;
    for await (const chunk of snapshot) {
      const buf = chunk as Buffer;
      if (seen + buf.length > bytes) {
        if (bytes > seen) yield buf.subarray(0, bytes - seen);
        snapshot.destroy();
        throw new Error('the snapshot stream was cut off');
      }
      seen += buf.length;
      yield buf;
    }
  }
  return Readable.from(firstBytes(), { objectMode: false });
}

// The codec on the test's own thread: the unit tier runs the sources, with no built worker.
const inlineCodec = { workers: 0 };

export function datastoreContract<K extends DatastoreKind>(kind: K, fixture: DatastoreFixture<K>): void {
  describe(`${kind}: the datastore contract`, () => {
    async function backedUp() {
      const { source, target } = await fixture.stores();
      const repo = await Repository.openLocal(path.join(tempDir(), 'repo'), inlineCodec);
      const adapter = adapterFor<Datastore>(source);
      // A server keeps what an earlier, interrupted test run staged: start from none.
      for (const id of stagingIds) await adapter.discard(target, ctx(id));
      const ref = await repo.storeSnapshot(await adapter.snapshot(source, ctx()));
      expect(ref.size).toBeGreaterThan(0);
      expect(await repo.checkSnapshot(ref)).toBeUndefined();
      return { source, target, adapter, repo, ref, original: await adapter.fingerprint(source) };
    }

    test('a round trip gives the same fingerprint, and restoring it again (a retried step) the same', async () => {
      const { source, target, adapter, repo, ref, original } = await backedUp();
      await adapter.restore(target, repo.openSnapshot(ref), ctx());
      expect(await adapter.fingerprint(target)).toBe(original);
      await adapter.restore(target, repo.openSnapshot(ref), ctx());
      expect(await adapter.fingerprint(target)).toBe(original);
      await fixture.checkRestored?.(target, source);
      expect(await fixture.leftovers(target)).toEqual([]);
    });

    test('a restore cut off before its swap leaves the target unchanged', async () => {
      const { target, adapter, repo, ref } = await backedUp();
      const before = await adapter.fingerprint(target);
      const restore = adapter.restore(target, cutOff(repo.openSnapshot(ref), ref.size / 2), ctx('cut00001'));
      await expect(restore).rejects.toThrow();
      expect(await adapter.fingerprint(target)).toBe(before);
      await adapter.discard(target, ctx('cut00001'));
    });

    test('discard removes what a cut-off restore staged, leaves the target, and may be repeated', async () => {
      const { target, adapter, repo, ref } = await backedUp();
      const before = await adapter.fingerprint(target);
      await adapter.discard(target, ctx('discard1')); // nothing staged yet: harmless
      const restore = adapter.restore(target, cutOff(repo.openSnapshot(ref), ref.size / 2), ctx('discard1'));
      await expect(restore).rejects.toThrow();
      await adapter.discard(target, ctx('discard1'));
      await adapter.discard(target, ctx('discard1'));
      expect(await fixture.leftovers(target)).toEqual([]);
      expect(await adapter.fingerprint(target)).toBe(before);
    });

    test('a restore retried after a failed attempt gives the same data as one that never failed', async () => {
      const { target, adapter, repo, ref, original } = await backedUp();
      const failed = adapter.restore(target, cutOff(repo.openSnapshot(ref), ref.size / 2), ctx('retry001'));
      await expect(failed).rejects.toThrow();
      await adapter.restore(target, repo.openSnapshot(ref), ctx('retry001'));
      expect(await adapter.fingerprint(target)).toBe(original);
      expect(await fixture.leftovers(target)).toEqual([]);
    });

    test('a damaged snapshot never replaces the target', async () => {
      const { target, adapter, repo, ref } = await backedUp();
      await flipBit(await packFileOf(repo, ref)); // one flipped bit, mid-stream
      const before = await adapter.fingerprint(target);
      await expect(adapter.restore(target, repo.openSnapshot(ref), ctx('damage01'))).rejects.toThrow();
      await adapter.discard(target, ctx('damage01'));
      expect(await adapter.fingerprint(target)).toBe(before);
      expect(await fixture.leftovers(target)).toEqual([]);
    });
  });
}

/**
 * A production store of every kind, as a manifest would have it: the compiler demands one
 * for each registered kind, so none escapes the sandbox check below.
 */
export type ProductionExamples = { [K in DatastoreKind]: StoreOf<K> };

/** A drill's sandbox target is never the production store (nor its staging area), for every kind. */
export function sandboxTargetContract(examples: ProductionExamples): void {
  describe.each(Object.values(examples) as Datastore[])('$kind: the sandbox target', (production) => {
    const spec: AppSpec = {
      app: 'contract',
      repository: { location: '/srv/lazarus/repo' },
      sandbox: '/srv/lazarus/sandbox',
      services: {
        live: { tier: 'standard', depends_on: [], datastore: production },
      },
    };

    test('is planned, and never the production store', () => {
      const sandbox = sandboxFor(spec, 'drill0001');
      expect(sandbox.problems).toEqual([]);
      const target = sandbox.targets.live;
      expect(target).toBeDefined();
      const kind = specFor(production.kind);
      expect(kind.overlaps(kind.retarget(production, target), production)).toBe(false);
      // The worker's own check, before it restores or validates anything there.
      const copy = sandboxStore({ adapterFor }, production, target);
      expect(adapterFor(copy).describe(copy)).not.toBe(adapterFor(production).describe(production));
    });
  });
}

/** A kind that accepts a validator has what the drill runs it with: `firstRow` for sql, `count` for the counts, `firstDocument` for mongo_query. */
export function validatorsContract(): void {
  test.each(datastoreSpecs.map((spec) => [spec.kind, spec] as const))(
    '%s: the validators its spec accepts have an adapter method to run on',
    (_, spec) => {
      const adapter = adapterFor({ kind: spec.kind } as Datastore);
      if (spec.validators.includes('sql')) expect(adapter.firstRow).toBeInstanceOf(Function);
      const counting = ['row_count', 'key_count', 'document_count', 'message_count', 'object_count'];
      if (spec.validators.some((v) => counting.includes(v))) expect(adapter.count).toBeInstanceOf(Function);
      if (spec.validators.includes('mongo_query')) expect(adapter.firstDocument).toBeInstanceOf(Function);
    },
  );
}
