/**
 * RabbitMQ definitions as the adapter reads them (datastores/rabbitmq/definitions.ts and
 * compare.ts), on exports shaped as 3.10.8 writes them: no broker needed.
 */
import { extras, mismatches } from '../../datastores/rabbitmq/compare';
import {
  type BrokerDefinitions,
  definitionsHash,
  vhostDefinitions,
} from '../../datastores/rabbitmq/definitions';

function exportOf(
  vhost: string,
  order: 'as-written' | 'reversed',
  tags: string | string[] = 'a,b',
): BrokerDefinitions {
  const queues = [
    {
      name: 'q1',
      vhost,
      type: 'classic',
      durable: true,
      auto_delete: false,
      arguments: { 'x-max-length': 10, 'x-overflow': 'reject-publish' },
    },
    {
      name: 'q2',
      vhost,
      type: 'quorum',
      durable: true,
      auto_delete: false,
      arguments: { 'x-queue-type': 'quorum' },
    },
    { name: 'elsewhere', vhost: 'other', type: 'classic', durable: true, auto_delete: false, arguments: {} },
  ];
  const bindings = [
    { source: 'ex', vhost, destination: 'q1', destination_type: 'queue', routing_key: 'a', arguments: {} },
    { source: 'ex', vhost, destination: 'q2', destination_type: 'queue', routing_key: 'b', arguments: {} },
  ];
  const flip = <T>(list: T[]) => (order === 'reversed' ? [...list].reverse() : list);
  return {
    rabbit_version: order === 'reversed' ? '3.10.8' : '3.12.0',
    vhosts: [
      { name: vhost, limits: [], metadata: { description: 'd', tags } },
      { name: 'other', metadata: {} },
    ],
    queues: flip(queues).map((q) =>
      order === 'reversed' ? Object.fromEntries(Object.entries(q).reverse()) : q,
    ),
    bindings: flip(bindings),
    exchanges: [
      { name: 'ex', vhost, type: 'topic', durable: true, auto_delete: false, internal: false, arguments: {} },
    ],
    policies: [],
    parameters: [],
    users: [{ name: 'guest', password_hash: 'x', tags: ['administrator'] }],
    permissions: [{ user: 'guest', vhost, configure: '.*', read: '.*', write: '.*' }],
  };
}

test('the fingerprint is independent of object and key order, the vhost name, the version and the tags form', () => {
  const a = vhostDefinitions(exportOf('shop', 'as-written', 'a,b'), 'shop', false)!;
  const b = vhostDefinitions(exportOf('copy', 'reversed', ['b', 'a']), 'copy', false)!;
  expect(definitionsHash(a)).toBe(definitionsHash(b));
  expect(a.queues.map((q) => q.name)).toEqual(['q1', 'q2']); // the other vhost's queue is not in it
});

test('a different argument changes the fingerprint; users count only when asked', () => {
  const base = exportOf('shop', 'as-written');
  const changed = exportOf('shop', 'as-written');
  (changed.queues![0].arguments as Record<string, unknown>)['x-max-length'] = 11;
  const plain = vhostDefinitions(base, 'shop', false)!;
  expect(definitionsHash(vhostDefinitions(changed, 'shop', false)!)).not.toBe(definitionsHash(plain));
  const withUsers = vhostDefinitions(base, 'shop', true)!;
  expect(withUsers.users?.map((u) => u.name)).toEqual(['guest']);
  expect(definitionsHash(withUsers)).not.toBe(definitionsHash(plain));
  expect(plain.users).toBeUndefined();
});

test('a queue with other arguments is a mismatch naming each difference; absent objects are extras', () => {
  const live = vhostDefinitions(exportOf('shop', 'as-written'), 'shop', false)!;
  const wanted = vhostDefinitions(exportOf('shop', 'as-written'), 'shop', false)!;
  wanted.queues[0] = { ...wanted.queues[0], arguments: { 'x-max-length': 20 } };
  wanted.queues = wanted.queues.slice(0, 1);
  wanted.bindings = wanted.bindings.slice(0, 1);
  expect(mismatches(live, wanted)).toEqual([
    {
      what: 'queue',
      name: 'q1',
      differences: [
        'argument x-max-length: 10 on the broker, 20 in the snapshot',
        'argument x-overflow: "reject-publish" on the broker, not set in the snapshot',
      ],
    },
  ]);
  const gone = extras(live, wanted);
  expect(gone.queues).toEqual(['q2']);
  expect(gone.bindings).toEqual([expect.objectContaining({ destination: 'q2' })]);
  expect(gone.permissions).toEqual([]); // access is left alone unless the snapshot carries it
});
