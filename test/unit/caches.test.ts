/**
 * Caches in the manifest and in discovery: a cache holds nothing to back up and names
 * what it fronts; discovery tells a cache, a server and a client apart by more than one trait.
 */
import { parseManifest } from '../../config/load-manifest';
import { redisRunsAsCache } from '../../datastores/caches/spec';
import { recognize } from '../../discovery/recognize';

const manifest = (services: string) => `app: shop\nservices:\n${services}`;
const db = '  db:\n    datastore: { kind: postgres, database: shop }\n';

test('a cache names the stores it fronts under depends_on, and is not also a datastore', () => {
  const ok = parseManifest(
    manifest(`${db}  db-cache:\n    depends_on: [db]\n    cache: { engine: memcached }\n`),
    'x.yaml',
  );
  expect(ok.services['db-cache'].cache).toEqual({ engine: 'memcached', host: '127.0.0.1', port: 11211 });

  expect(() => parseManifest(manifest(`${db}  c:\n    cache: { engine: redis, db: 3 }\n`), 'x.yaml')).toThrow(
    /services\.c\.depends_on: a cache is flushed after the stores it fronts are restored/,
  );
  const both = manifest(
    '  c:\n    depends_on: [db]\n    datastore: { kind: redis }\n    cache: { engine: redis }\n' + db,
  );
  expect(() => parseManifest(both, 'x.yaml')).toThrow(
    /services\.c\.cache: a service is a datastore or a cache/,
  );
  expect(() =>
    parseManifest(manifest(`${db}  c:\n    depends_on: [db]\n    cache: { engine: varnish }\n`), 'x.yaml'),
  ).toThrow(/x\.yaml[\s\S]*services\.c\.cache/);
});

test('Redis runs as a cache when it evicts, keeps nothing on disk, or is named one', () => {
  expect(redisRunsAsCache('sessions', 'redis-server --maxmemory 2gb --maxmemory-policy allkeys-lru')).toBe(
    true,
  );
  expect(redisRunsAsCache('cart-cache', '')).toBe(true);
  expect(redisRunsAsCache('redis', 'redis-server --save "" --appendonly no')).toBe(true);
  expect(redisRunsAsCache('redis', 'redis-server --appendonly yes')).toBe(false);
  expect(redisRunsAsCache('cart', '')).toBe(false);
});

const facts = (name: string, more: Partial<Parameters<typeof recognize>[0]> = {}) => ({
  name,
  ports: [],
  env: {},
  ...more,
});

test('one client variable or one port makes a client; a name, a build context or a custom image name counts', () => {
  // The one-shot loader that only sets the password it connects with.
  expect(recognize(facts('data-loader', { env: { MYSQL_ROOT_PASSWORD: 'x' } }))).toBeUndefined();
  expect(recognize(facts('worker', { ports: [5432] }))).toBeUndefined();
  // A MongoDB built from a custom image, known by its name and build context.
  expect(recognize(facts('mongodb', { image: 'acme/rs-db:1', buildContext: 'mongo' }))?.engine).toBe(
    'mongodb',
  );
  expect(recognize(facts('auth-mongodb', { image: 'sqshq/piggymetrics-mongodb' }))?.engine).toBe('mongodb');
  expect(recognize(facts('mysql', { buildContext: './mysql' }))?.engine).toBe('mariadb');
  // A custom image named like a datastore, reached on MongoDB's port by its clients.
  expect(recognize(facts('user-db', { image: 'acme/user-db', reachedOn: [27017] }))?.engine).toBe('mongodb');
  // Named like a datastore but nothing else: flagged to be looked at.
  expect(recognize(facts('user-db', { image: 'acme/user-db' }))?.engine).toBe('unknown');
  // Variables only the server reads, with a name like a datastore's.
  expect(recognize(facts('catalogue-db', { env: { MYSQL_ROOT_PASSWORD: '' } }))?.engine).toBe('mariadb');
});
