/** The NATS kind's spec (datastores/nats/spec.ts): where a drill's copy goes, overlaps, the manifest's shape. */
import { subjectsOverlap } from '../../datastores/nats/restore';
import { nats, natsStreams } from '../../datastores/nats/spec';

const production = nats.schema.parse({ kind: 'nats', streams: ['ORDERS'], kv: ['sessions'] });
const place = { service: 'bus', root: '/srv/sandbox', drillKey: 'drill0001' };

test('a drill needs a sandbox server: without one, the problem names the field and why', () => {
  expect(nats.sandboxTarget(production, place)).toEqual({
    problem: expect.stringMatching(/^services\.bus\.datastore\.sandbox is not set: name a NATS server/),
  });
  const same = { ...production, sandbox: { host: '127.0.0.1', port: 4222 } };
  expect(nats.sandboxTarget(same, place)).toEqual({
    problem: expect.stringMatching(/is the production server/),
  });
  const other = { ...production, sandbox: { host: 'drills.internal', port: 4223 } };
  expect(nats.sandboxTarget(other, place)).toEqual({ target: 'drills.internal:4223' });
});

test('a target is a server; the copy keeps the streams, drops the url, and overlaps only on the same server', () => {
  expect(nats.targetFormProblem('ORDERS COPY')).toMatch(/name a NATS server as host:port/);
  expect(nats.targetFormProblem('nats://10.0.0.5:4223')).toBeUndefined();
  const withUrl = { ...production, url: 'nats://nats.internal:4222' };
  const copy = nats.retarget(withUrl, '10.0.0.5:4223');
  expect(copy).toMatchObject({ host: '10.0.0.5', port: 4223, streams: ['ORDERS'] });
  expect(copy.url).toBeUndefined();
  expect(nats.overlaps(copy, withUrl)).toBe(false);
  expect(nats.overlaps(nats.retarget(withUrl, 'nats.internal'), withUrl)).toBe(true);
  expect(nats.identity(withUrl)).toBe('nats:nats.internal:4222/KV_sessions,ORDERS');
});

test('a store names at least one stream, bucket or object store, and each name is one JetStream takes', () => {
  expect(natsStreams({ streams: ['B', 'A'], kv: ['cfg'], object_stores: ['files'] })).toEqual([
    'A',
    'B',
    'KV_cfg',
    'OBJ_files',
  ]);
  const none = nats.schema.safeParse({ kind: 'nats', host: 'nats' });
  expect(none.error?.issues[0].message).toMatch(/^name the streams, kv buckets or object_stores/);
  expect(nats.schema.safeParse({ kind: 'nats', streams: ['orders.v1'] }).success).toBe(false);
  expect(nats.schema.safeParse({ kind: 'nats', streams: ['S'], url: 'nats://u:p@h:4222' }).success).toBe(
    false,
  );
});

test('subjects overlap as NATS matches them: * one token, > the rest', () => {
  expect(subjectsOverlap('orders.>', 'orders.eu.new')).toBe(true);
  expect(subjectsOverlap('orders.*', 'orders.eu.new')).toBe(false);
  expect(subjectsOverlap('orders.*.new', 'orders.eu.*')).toBe(true);
  expect(subjectsOverlap('orders', 'orders.>')).toBe(false);
  expect(subjectsOverlap('a.b', 'a.c')).toBe(false);
});
