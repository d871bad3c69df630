/**
 * A drill's sandbox plan (workflows/sandbox.ts): every stateful service gets a target
 * that is not production, or the drill refuses to start. The plan is pure; the drill
 * workflow throws UnsafeSandbox on any problem before it runs a step.
 */
import { z } from 'zod';
import { defineKind, pathStore } from '../../datastores/kind';
import { type AnyDatastoreSpec, specFor } from '../../datastores/registry';
import type { DatastoreKind } from '../../model/manifest';
import { sandboxFor } from '../../workflows/sandbox';
import type { AppSpec } from '../../workflows/types';

const spec: AppSpec = {
  app: 'shop',
  repository: { location: '/srv/lazarus/repo' },
  sandbox: '/srv/lazarus/sandbox',
  services: {
    orders: {
      tier: 'critical',
      depends_on: [],
      datastore: { kind: 'postgres', host: '127.0.0.1', port: 5432, user: 'postgres', database: 'orders' },
    },
    media: { tier: 'standard', depends_on: [], datastore: { kind: 'directory', path: '/srv/shop/media' } },
    web: { tier: 'standard', depends_on: ['orders', 'media'] },
  },
};

/** The registry, but with postgres's sandbox target derivation giving `planned`. */
function withPostgresTarget(planned: unknown) {
  return (kind: DatastoreKind): AnyDatastoreSpec =>
    kind === 'postgres'
      ? ({ ...specFor(kind), sandboxTarget: () => planned } as unknown as AnyDatastoreSpec)
      : specFor(kind);
}

test('every stateful service gets a copy of its own; a stateless one none', () => {
  const { root, targets, problems } = sandboxFor(spec, 'd1');
  expect(problems).toEqual([]);
  expect(root).toBe('/srv/lazarus/sandbox/d1');
  expect(targets).toEqual({ orders: 'orders_lzd_d1', media: '/srv/lazarus/sandbox/d1/media' });
});

test.each([
  ['yields nothing', undefined],
  ['yields an empty target', { target: '' }],
  ['is missing from the spec', 'missing'],
])('a drill refuses to start when the target derivation %s', (_, planned) => {
  const specs =
    planned === 'missing'
      ? (kind: DatastoreKind) => {
          const incomplete: Partial<AnyDatastoreSpec> = { ...specFor(kind) };
          delete incomplete.sandboxTarget;
          return (kind === 'postgres' ? incomplete : specFor(kind)) as AnyDatastoreSpec;
        }
      : withPostgresTarget(planned);
  const { targets, problems } = sandboxFor(spec, 'd1', specs);
  expect(targets.orders).toBeUndefined();
  expect(problems).toEqual([
    'services.orders.datastore: a postgres datastore has no sandbox target, so a drill would restore into the production store; refusing to start',
  ]);
});

test('a target derived onto the production store itself is refused', () => {
  const { problems } = sandboxFor(spec, 'd1', withPostgresTarget({ target: 'orders' }));
  expect(problems).toEqual(["the sandbox copy of orders (orders) would overwrite orders's data"]);
});

test("a kind's own reason for having no target is the drill's problem (Redis without sandbox_db)", () => {
  const redis: AppSpec = {
    ...spec,
    services: {
      sessions: {
        tier: 'standard',
        depends_on: [],
        datastore: { kind: 'redis', host: '127.0.0.1', port: 6379, db: 0, staging_db: 15 },
      },
    },
  };
  expect(sandboxFor(redis, 'd1').problems).toEqual([
    'services.sessions.datastore.sandbox_db is not set: name an empty Redis database index for drills',
  ]);
});

test('a kind without a sandbox target does not compile', () => {
  const schema = z.strictObject({ kind: z.literal('memcached'), path: z.string() });
  // @ts-expect-error sandboxTarget is a required member of every kind's spec
  const incomplete = defineKind({ kind: 'memcached', schema, validators: ['checksum'], ...pathStore });
  expect(incomplete.kind).toBe('memcached');
});

test("a workerd host's D1, KV and R2 bindings are copied into one state directory of the drill's, as workerd lays it out", () => {
  const state = '/srv/notes/state';
  const binding = (datastore: AppSpec['services'][string]['datastore']) => ({
    tier: 'standard',
    depends_on: [],
    datastore,
  });
  const notes: AppSpec = {
    ...spec,
    services: {
      db: binding({ kind: 'd1', path: state, database_id: 'notes-db' }),
      archive: binding({ kind: 'd1', path: state, database_id: 'archive-db' }),
      sessions: binding({ kind: 'kv', path: state, namespace_id: 'sessions' }),
      files: binding({ kind: 'r2', path: state, bucket: 'files' }),
      other: binding({ kind: 'd1', path: '/srv/other/state', database_id: 'notes-db' }),
    },
  };
  const { targets, problems } = sandboxFor(notes, 'drill1');
  expect(problems).toEqual([]);
  const copy = '/srv/lazarus/sandbox/drill1/workerd-state/srv%2Fnotes%2Fstate';
  expect(targets).toEqual({
    db: copy,
    archive: copy,
    sessions: copy,
    files: copy,
    other: '/srv/lazarus/sandbox/drill1/workerd-state/srv%2Fother%2Fstate',
  });
});
