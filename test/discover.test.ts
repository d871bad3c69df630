/**
 * `lazarus discover` on real-world Compose files and Kubernetes manifests from public
 * projects (test/fixtures/discovery/SOURCES.md), and on this machine's live servers.
 * Every datastore and every dependency found is asserted.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DiscoveredManifest, Drift } from '../discovery/manifest';
import { loadManifest } from '../config/load-manifest';
import { lazarus } from './support/cli';
import * as stores from './support/stores';

const fixtures = path.join(__dirname, 'fixtures', 'discovery');

function discover(args: string[], env: Record<string, string> = {}) {
  const run = lazarus(['discover', ...args, '--json'], env);
  if (run.code !== 0) throw new Error(`discover ${args.join(' ')}: ${run.stderr}`);
  return { manifest: JSON.parse(run.stdout) as DiscoveredManifest, stderr: run.stderr };
}

/** What a person checks in a discovered manifest: per service, its store and its dependencies. */
function summary(manifest: DiscoveredManifest) {
  const stores: Record<string, string> = {};
  const dependencies: Record<string, string[]> = {};
  for (const [name, service] of Object.entries(manifest.services)) {
    if (service.datastore) stores[name] = `${String(service.datastore.kind)} (${service.tier})`;
    if (service.unprotected) stores[name] = `unprotected ${service.unprotected.engine} (${service.tier})`;
    if (service.cache) stores[name] = `cache ${String(service.cache.engine)}`;
    if (service.depends_on.length > 0) dependencies[name] = service.depends_on;
  }
  return { services: Object.keys(manifest.services).length, stores, dependencies };
}

test('eShopOnContainers: depends_on lists, ${VAR:-default}, SQL Server flagged, MongoDB, RabbitMQ and Redis protected', () => {
  const { manifest } = discover(['--compose', path.join(fixtures, 'eshop', 'docker-compose.yml')]);
  const gateways = [
    'basket-api',
    'catalog-api',
    'identity-api',
    'nosqldata',
    'ordering-api',
    'rabbitmq',
    'sqldata',
  ];
  expect(summary(manifest)).toEqual({
    services: 21,
    stores: {
      sqldata: 'unprotected sqlserver (critical)',
      nosqldata: 'mongodb (critical)',
      basketdata: 'redis (standard)',
      rabbitmq: 'rabbitmq (standard)',
    },
    dependencies: {
      'identity-api': ['sqldata'],
      'basket-api': ['basketdata', 'identity-api', 'rabbitmq'],
      'catalog-api': ['rabbitmq', 'sqldata'],
      'ordering-api': ['rabbitmq', 'sqldata'],
      'ordering-backgroundtasks': ['rabbitmq', 'sqldata'],
      'payment-api': ['rabbitmq'],
      'webhooks-api': ['sqldata'],
      mobileshoppingagg: gateways,
      webshoppingagg: gateways,
      'ordering-signalrhub': gateways,
      webspa: ['webshoppingagg', 'webshoppingapigw'],
      webmvc: ['webshoppingagg', 'webshoppingapigw'],
      'webhooks-client': ['webhooks-api'],
    },
  });
  expect(manifest.app).toBe('eshop');
  expect(manifest.services.basketdata.datastore).toEqual({ kind: 'redis', host: 'basketdata' });
  expect(manifest.services['identity-api'].description).toContain('eshop/identity.api:linux-latest');
  // The environment wins over the default.
  const custom = discover(['--compose', path.join(fixtures, 'eshop', 'docker-compose.yml')], {
    REGISTRY: 'acme',
  });
  expect(custom.manifest.services['identity-api'].description).toContain('acme/identity.api:linux-latest');
});

test('Sock Shop: no depends_on, so dependencies come from connection references; custom images by environment', () => {
  const { manifest, stderr } = discover(['--compose', path.join(fixtures, 'sockshop', 'docker-compose.yml')]);
  expect(summary(manifest)).toEqual({
    services: 16,
    stores: {
      'catalogue-db': 'mariadb (critical)', // weaveworksdemos/catalogue-db, known by MYSQL_ROOT_PASSWORD
      'cart-db': 'mongodb (critical)',
      'orders-db': 'mongodb (critical)',
      rabbitmq: 'rabbitmq (standard)',
      // A custom image named like a datastore, which user reaches as MONGO_HOST=user-db:27017.
      'user-db': 'mongodb (critical)',
    },
    dependencies: {
      catalogue: ['zipkin'],
      payment: ['zipkin'],
      user: ['user-db', 'zipkin'], // MONGO_HOST=user-db:27017, ZIPKIN=http://zipkin:9411/...
    },
  });
  expect(manifest.services['catalogue-db'].datastore).toEqual({
    kind: 'mariadb',
    host: 'catalogue-db',
    user: 'root',
    database: 'socksdb',
  });
  expect(stderr).toContain('variables not set, taken as empty: MYSQL_ROOT_PASSWORD');
});

test('Robot Shop: a MongoDB and a MySQL built from custom images are known by their names and build contexts', () => {
  const { manifest } = discover(['--compose', path.join(fixtures, 'robot-shop', 'docker-compose.yaml')]);
  expect(summary(manifest)).toEqual({
    services: 12,
    stores: {
      mongodb: 'mongodb (critical)', // build: {context: mongo}, image ${REPO}/rs-mongodb
      mysql: 'mariadb (critical)', // build: {context: mysql}, image ${REPO}/rs-mysql-db
      redis: 'redis (standard)',
      rabbitmq: 'rabbitmq (standard)', // rabbitmq:3.8-management-alpine
    },
    dependencies: {
      catalogue: ['mongodb'],
      user: ['mongodb', 'redis'],
      cart: ['redis'],
      shipping: ['mysql'],
      ratings: ['mysql'],
      payment: ['rabbitmq'],
      dispatch: ['rabbitmq'],
      web: ['catalogue', 'payment', 'shipping', 'user'],
    },
  });
  expect(manifest.services.mongodb.datastore).toMatchObject({ kind: 'mongodb', host: 'mongodb' });
  expect(manifest.services.rabbitmq.datastore).toMatchObject({
    kind: 'rabbitmq',
    host: 'rabbitmq',
    vhost: '/',
  });
});

test('DeathStarBench hotelReservation: 8 MongoDB stores protected, 4 memcached known as caches of the store each fronts', () => {
  const { manifest, stderr } = discover([
    '--compose',
    path.join(fixtures, 'hotel-reservation', 'docker-compose.yml'),
  ]);
  const mongo = ['attractions', 'geo', 'profile', 'rate', 'recommendation', 'reservation', 'review', 'user'];
  const withCache = { profile: 'profile', rate: 'rate', review: 'review', reservation: 'reserve' };
  expect(summary(manifest)).toEqual({
    services: 24,
    stores: {
      ...Object.fromEntries(mongo.map((m) => [`mongodb-${m}`, 'mongodb (critical)'])),
      ...Object.fromEntries(Object.values(withCache).map((c) => [`memcached-${c}`, 'cache memcached'])),
    },
    dependencies: {
      frontend: ['consul'],
      search: ['consul'],
      ...Object.fromEntries(
        mongo.map((m) => {
          const cache = withCache[m as keyof typeof withCache];
          return [m, ['consul', ...(cache ? [`memcached-${cache}`] : []), `mongodb-${m}`]];
        }),
      ),
      // By name (memcached-rate fronts mongodb-rate), or by the service that uses both (reservation).
      ...Object.fromEntries(Object.entries(withCache).map(([m, c]) => [`memcached-${c}`, [`mongodb-${m}`]])),
    },
  });
  expect(manifest.services['memcached-rate'].cache).toEqual({ engine: 'memcached', host: 'memcached-rate' });
  expect(stderr).toMatch(/8 datastores Lazarus backs up, 4 caches .*, 0 it cannot yet/);
});

test('PiggyMetrics: custom MongoDB images are servers; services that only carry MONGODB_PASSWORD are clients', () => {
  const { manifest } = discover(['--compose', path.join(fixtures, 'piggymetrics', 'docker-compose.yml')]);
  const mongo = ['auth', 'account', 'statistics', 'notification'];
  const onConfig = [
    'registry',
    'gateway',
    'monitoring',
    'turbine-stream-service',
    ...mongo.map((m) => `${m}-service`),
  ];
  expect(summary(manifest)).toEqual({
    services: 14,
    stores: {
      rabbitmq: 'rabbitmq (standard)',
      ...Object.fromEntries(mongo.map((m) => [`${m}-mongodb`, 'mongodb (critical)'])),
    },
    // The services find their databases through the config server, which Compose does not show.
    dependencies: Object.fromEntries(onConfig.map((s) => [s, ['config']])),
  });
  expect(manifest.services['auth-service'].datastore).toBeUndefined();
});

const snuba = ['clickhouse', 'kafka', 'redis'];
const sentryBase = [
  'kafka',
  'memcached',
  'postgres',
  'redis',
  'smtp',
  'snuba-api',
  'snuba-errors-consumer',
  'snuba-group-attributes-consumer',
  'snuba-outcomes-billing-consumer',
  'snuba-outcomes-consumer',
  'snuba-replacer',
  'snuba-subscription-consumer-events',
  'symbolicator',
  'zookeeper',
];
const sentryStores = {
  memcached: 'cache memcached', // flushed after the database of the services that use it
  redis: 'redis (standard)',
  postgres: 'postgres (critical)',
  zookeeper: 'unprotected zookeeper (standard)',
  kafka: 'unprotected kafka (standard)',
  clickhouse: 'unprotected clickhouse (critical)', // a local build: known by its BASE_IMAGE build arg
};

test('Sentry self-hosted: anchors, merge keys, x- extensions and profiles', () => {
  const file = path.join(fixtures, 'sentry', 'docker-compose.yml');
  const { manifest, stderr } = discover(['--compose', file]);
  const sentryDefaults = ['cron', 'worker', 'events-consumer', 'attachments-consumer'];
  const snubaDefaults = [
    'snuba-api',
    'snuba-errors-consumer',
    'snuba-outcomes-consumer',
    'snuba-outcomes-billing-consumer',
    'snuba-group-attributes-consumer',
    'snuba-replacer',
    'snuba-subscription-consumer-events',
  ];
  const consumers = ['post-process-forwarder-errors', 'subscription-consumer-events', 'sentry-cleanup'];
  expect(summary(manifest)).toEqual({
    services: 24, // the 35 of the profiles feature-complete and errors-only are left out
    stores: sentryStores,
    dependencies: {
      kafka: ['zookeeper'],
      memcached: ['postgres'], // the database of the services that use the cache
      ...Object.fromEntries(snubaDefaults.map((s) => [s, snuba])),
      ...Object.fromEntries([...sentryDefaults, ...consumers].map((s) => [s, sentryBase])),
    },
  });
  expect(Object.keys(manifest.services)).not.toContain('x-sentry-defaults');
  expect(manifest.services.postgres.datastore).toEqual({
    kind: 'postgres',
    host: 'postgres',
    user: 'postgres',
    database: 'postgres',
  });
  expect(stderr).toMatch(/profile feature-complete not active .*: left out snuba-transactions-consumer/);

  // With its profile, the web service depends on every consumer, and VROOM=http://vroom:8085 adds vroom.
  const full = discover(['--compose', file, '--profile', 'feature-complete']).manifest;
  expect(Object.keys(full.services)).toHaveLength(24 + 32);
  expect(full.services.web.depends_on).toHaveLength(27);
  expect(full.services.web.depends_on).toEqual(
    expect.arrayContaining([...sentryBase, 'vroom', 'snuba-spans-consumer']),
  );
  expect(full.services.cron.depends_on).toEqual([...sentryBase, 'vroom'].sort());
  expect(full.services.relay.depends_on).toEqual(['kafka', 'redis', 'web']);
  expect(full.services.nginx.depends_on).toEqual(['relay', 'web']);
  expect(full.services.vroom.depends_on).toEqual(['kafka', 'snuba-api']); // SENTRY_SNUBA_HOST
  expect(Object.keys(discover(['--compose', file, '--all-profiles']).manifest.services)).toHaveLength(59);
});

test('two Compose files at once: a name both use gets a suffix, and each keeps its own dependencies', () => {
  const { manifest } = discover([
    '--compose',
    path.join(fixtures, 'eshop', 'docker-compose.yml'),
    '--compose',
    path.join(fixtures, 'sockshop', 'docker-compose.yml'),
    '--app',
    'shops',
  ]);
  expect(Object.keys(manifest.services)).toHaveLength(21 + 16);
  expect(manifest.services['rabbitmq-2'].description).toContain('sockshop');
  expect(manifest.services['basket-api'].depends_on).toEqual(['basketdata', 'identity-api', 'rabbitmq']);
  expect(manifest.services['user'].depends_on).toEqual(['user-db', 'zipkin']);
});

test('the .env file beside a Compose file sets its variables', () => {
  const dir = stores.tempDir();
  copyFileSync(path.join(fixtures, 'sentry', 'docker-compose.yml'), path.join(dir, 'docker-compose.yml'));
  writeFileSync(
    path.join(dir, '.env'),
    'SNUBA_IMAGE=getsentry/snuba:24.1.0\nSYMBOLICATOR_IMAGE="getsentry/symbolicator:24.1"\n',
  );
  const { manifest, stderr } = discover([
    '--compose',
    path.join(dir, 'docker-compose.yml'),
    '--app',
    'sentry',
  ]);
  expect(manifest.services['snuba-api'].description).toContain('getsentry/snuba:24.1.0');
  expect(manifest.services.symbolicator.description).toContain('getsentry/symbolicator:24.1');
  expect(stderr).not.toMatch(/not set.*SNUBA_IMAGE/);
});

test('include and extends: services from included files, fields inherited from a base in this file or another', () => {
  const dir = stores.tempDir();
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  };
  write(
    'compose.yaml',
    `name: shop
include:
  - data/compose.yaml
  - path: [search/compose.yaml]
services:
  api:
    extends: { file: common.yaml, service: node-app }
    environment: [DATABASE_URL=postgres://app@orders-db:5432/orders]
  worker:
    extends: api
    environment: { QUEUE_URL: "nats://events:4222" }
  admin:
    extends: { service: api }
    image: ghcr.io/acme/admin:1
`,
  );
  write(
    'common.yaml',
    `services:
  node-app:
    build: { context: ., args: { BASE_IMAGE: "node:20" } }
    environment: { NODE_ENV: production, SESSIONS: "redis://cache:6379" }
    depends_on: [metrics] # ties a base to others: not inherited
  metrics: { image: prom/prometheus }
`,
  );
  write('data/.env', 'PG_VERSION=15\n');
  write(
    'data/compose.yaml',
    `services:
  orders-db:
    image: postgres:\${PG_VERSION:-16}
    environment: { POSTGRES_DB: orders, POSTGRES_USER: app }
  cache: { image: "valkey/valkey:8" }
`,
  );
  write('search/compose.yaml', 'services:\n  events: { image: "nats:2.10", command: ["-js"] }\n');

  const { manifest } = discover(['--compose', path.join(dir, 'compose.yaml')]);
  expect(summary(manifest)).toEqual({
    services: 6,
    stores: {
      'orders-db': 'postgres (critical)',
      cache: 'cache redis', // named as one
      events: 'nats (standard)',
    },
    dependencies: {
      cache: ['orders-db'], // the database of the services that use it
      api: ['cache', 'orders-db'],
      worker: ['cache', 'events', 'orders-db'],
      admin: ['cache', 'orders-db'],
    },
  });
  expect(manifest.app).toBe('shop');
  expect(manifest.services['orders-db'].datastore).toMatchObject({
    host: 'orders-db',
    database: 'orders',
    user: 'app',
  });
  expect(manifest.services['orders-db'].description).toBe(
    `compose ${path.join(dir, 'data', 'compose.yaml')} postgres:15 (postgres)`,
  );
  expect(manifest.services.admin.description).toContain('ghcr.io/acme/admin:1');

  // A name defined twice across included files, and files that include each other, are refused.
  write('search/compose.yaml', 'services:\n  cache: { image: "redis:7" }\n');
  const clash = lazarus(['discover', '--compose', path.join(dir, 'compose.yaml')]);
  expect(clash.code).toBe(2);
  expect(clash.stderr).toContain('service "cache" is defined in both');
  write('search/compose.yaml', 'include: [../compose.yaml]\nservices: {}\n');
  expect(lazarus(['discover', '--compose', path.join(dir, 'compose.yaml')]).stderr).toContain(
    'the files include each other',
  );
});

test('Online Boutique on Kubernetes: Services route to Deployments, env values make the dependencies', () => {
  const { manifest } = discover(['--k8s', path.join(fixtures, 'online-boutique')]);
  expect(summary(manifest)).toEqual({
    services: 12,
    stores: { 'redis-cart': 'redis (standard)' },
    dependencies: {
      checkoutservice: [
        'cartservice',
        'currencyservice',
        'emailservice',
        'paymentservice',
        'productcatalogservice',
        'shippingservice',
      ],
      recommendationservice: ['productcatalogservice'],
      frontend: [
        'adservice',
        'cartservice',
        'checkoutservice',
        'currencyservice',
        'productcatalogservice',
        'recommendationservice',
        'shippingservice',
      ],
      cartservice: ['redis-cart'], // REDIS_ADDR=redis-cart:6379
      loadgenerator: ['frontend'],
    },
  });
});

test('Kustomize trees and Helm charts are refused with the command that renders them; rendered manifests come on stdin', () => {
  const dir = stores.tempDir();
  mkdirSync(path.join(dir, 'base'));
  mkdirSync(path.join(dir, 'overlays', 'prod'), { recursive: true });
  writeFileSync(path.join(dir, 'base', 'kustomization.yaml'), 'resources: [api.yaml]\n');
  writeFileSync(
    path.join(dir, 'base', 'api.yaml'),
    'kind: Deployment\nmetadata: { name: api }\nspec: { template: { spec: { containers: [{ image: api }] } } }\n',
  );
  writeFileSync(path.join(dir, 'overlays', 'prod', 'kustomization.yaml'), 'resources: [../../base]\n');
  // A patch: read as it is, it would pass for a second "api" with no containers.
  writeFileSync(
    path.join(dir, 'overlays', 'prod', 'replicas.yaml'),
    'kind: Deployment\nmetadata: { name: api }\nspec: { replicas: 3 }\n',
  );
  const kustomize = lazarus(['discover', '--k8s', dir]);
  expect(kustomize.code).toBe(2);
  expect(kustomize.stderr).toContain(
    `render it first: kubectl kustomize <one of ${path.join(dir, 'base')}, ${path.join(dir, 'overlays', 'prod')}> | lazarus discover --k8s -`,
  );
  const chart = stores.tempDir();
  writeFileSync(path.join(chart, 'Chart.yaml'), 'name: shop\nversion: 1.0.0\n');
  expect(lazarus(['discover', '--k8s', chart]).stderr).toContain(
    `render it first: helm template ${chart} | lazarus discover --k8s -`,
  );

  const rendered = readFileSync(path.join(fixtures, 'online-boutique', 'kubernetes-manifests.yaml'), 'utf8');
  const fromStdin = lazarus(['discover', '--k8s', '-', '--json'], {}, rendered);
  expect(fromStdin.code).toBe(0);
  const fromFile = discover(['--k8s', path.join(fixtures, 'online-boutique')]).manifest;
  expect(summary(JSON.parse(fromStdin.stdout) as DiscoveredManifest)).toEqual(summary(fromFile));
});

test('Kubernetes: a StatefulSet, a ConfigMap URL with a cluster DNS name, a Service named apart from its workload', () => {
  const dir = stores.tempDir();
  mkdirSync(path.join(dir, 'db'));
  writeFileSync(
    path.join(dir, 'db', 'orders-db.yaml'),
    `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: orders-postgres}
spec:
  selector: {matchLabels: {app: orders-postgres}}
  template:
    metadata: {labels: {app: orders-postgres}}
    spec:
      containers:
        - {name: db, image: "docker.io/library/postgres:16-alpine", env: [{name: POSTGRES_DB, value: orders}]}
  volumeClaimTemplates: [{metadata: {name: data}}]
---
apiVersion: v1
kind: Service
metadata: {name: orders-db}
spec: {selector: {app: orders-postgres}, ports: [{port: 5432}]}
`,
  );
  writeFileSync(
    path.join(dir, 'app.yml'),
    `apiVersion: v1
kind: ConfigMap
metadata: {name: orders-config}
data: {DATABASE_URL: "postgres://app@orders-db.shop.svc.cluster.local:5432/orders"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: orders}
spec:
  template:
    metadata: {labels: {app: orders}}
    spec:
      containers:
        - name: api
          image: example/orders:1
          envFrom: [{configMapRef: {name: orders-config}}]
          env: [{name: PASSWORD, valueFrom: {secretKeyRef: {name: s, key: p}}}]
`,
  );
  const { manifest } = discover(['--k8s', dir, '--app', 'shop']);
  expect(summary(manifest)).toEqual({
    services: 2,
    stores: { 'orders-postgres': 'postgres (critical)' },
    dependencies: { orders: ['orders-postgres'] },
  });
  expect(manifest.services['orders-postgres'].datastore).toEqual({ kind: 'postgres', host: 'orders-db' });
});

test('live brokers: RabbitMQ vhosts and NATS streams, each a store reached as the URL did', async () => {
  const { connect } = await import('nats');
  const nc = await connect({ servers: '127.0.0.1:4222' });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'LZ_DISC_ORDERS', subjects: ['lzdisc.orders.>'] });
  try {
    const { manifest } = discover([
      '--rabbitmq',
      'amqp://guest:guest@127.0.0.1:5672',
      '--nats',
      'nats://127.0.0.1:4222',
    ]);
    const rabbit = Object.values(manifest.services).find((s) => s.datastore?.kind === 'rabbitmq');
    expect(rabbit?.datastore).toMatchObject({ host: '127.0.0.1', port: 5672, vhost: '/', user: 'guest' });
    expect(JSON.stringify(manifest)).not.toContain('guest:guest'); // no password in the manifest
    const stream = Object.values(manifest.services).find((s) => s.datastore?.kind === 'nats');
    expect(Object.values(manifest.services).map((s) => s.datastore)).toContainEqual(
      expect.objectContaining({ kind: 'nats', host: '127.0.0.1', port: 4222, streams: ['LZ_DISC_ORDERS'] }),
    );
    expect(stream?.tier).toBe('standard');
  } finally {
    await jsm.streams.delete('LZ_DISC_ORDERS');
    await nc.close();
  }
  const refused = lazarus(['discover', '--mongodb', 'mongodb://127.0.0.1:1']);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('--mongodb mongodb://127.0.0.1:1');
  expect(refused.stderr).not.toMatch(/\n\s+at /);
});

test('live servers: PostgreSQL and MariaDB databases, Redis keyspaces; drift against a manifest', async () => {
  await stores.postgresWithRows('lazdisc_orders', 10);
  await stores.postgresWithRows('lazdisc_users', 10);
  await stores.mariadbWithRows('lazdisc_catalog', 10);
  const redis = stores.redisClient(0);
  await redis.set('lazdisc:probe', '1');
  try {
    const { manifest } = discover([
      '--postgres',
      'postgres://postgres@127.0.0.1:5432/postgres',
      '--mariadb',
      'mysql://root@127.0.0.1:3306',
      '--redis',
      'redis://127.0.0.1:6379',
      '--app',
      'live',
    ]);
    expect(manifest.services.lazdisc_orders.datastore).toEqual({
      kind: 'postgres',
      host: '127.0.0.1',
      port: 5432,
      user: 'postgres',
      database: 'lazdisc_orders',
    });
    expect(manifest.services.lazdisc_catalog).toMatchObject({
      tier: 'critical',
      datastore: { kind: 'mariadb', database: 'lazdisc_catalog', user: 'root' },
    });
    expect(manifest.services['redis-db0'].datastore).toEqual({
      kind: 'redis',
      host: '127.0.0.1',
      port: 6379,
      db: 0,
    });
    expect(Object.keys(manifest.services)).not.toContain('information_schema');

    // Written to a file, the manifest loads and plans.
    const dir = stores.tempDir();
    const written = path.join(dir, 'lazarus.yaml');
    expect(
      lazarus(['discover', '--postgres', 'postgres://postgres@127.0.0.1/postgres', '-o', written]).code,
    ).toBe(0);
    expect(Object.keys(loadManifest(written).services)).toEqual(expect.arrayContaining(['lazdisc_orders']));
    expect(lazarus(['discover', '--postgres', 'postgres://127.0.0.1/postgres', '-o', written])).toMatchObject(
      {
        code: 2,
        stderr: expect.stringContaining('exists: pass --force'),
      },
    );

    const inUse = await stores.writeManifest(dir, {
      app: 'live',
      services: {
        orders: { datastore: { kind: 'postgres', database: 'lazdisc_orders' } },
        retired: { datastore: { kind: 'postgres', database: 'lazdisc_retired' } },
      },
    });
    const run = lazarus([
      'discover',
      '--postgres',
      'postgres://postgres@localhost/postgres',
      '--against',
      inUse,
      '--json',
    ]);
    expect(run.code).toBe(1);
    const drift = JSON.parse(run.stdout) as Drift;
    expect(drift.unprotected.map((u) => u.service)).toContain('lazdisc_users');
    expect(drift.unprotected.map((u) => u.service)).not.toContain('lazdisc_orders'); // protected as "orders"
    expect(drift.gone).toEqual([{ service: 'retired', kind: 'postgres' }]);
    const text = lazarus([
      'discover',
      '--postgres',
      'postgres://postgres@localhost/postgres',
      '--against',
      inUse,
    ]);
    expect(text.stdout).toMatch(/Running but not protected by .*:\n(.|\n)*\+ lazdisc_users \(postgres\)/);
    expect(text.stdout).toMatch(/Protected by .* but not found:\n {2}- retired \(postgres\)/);
  } finally {
    await redis.del('lazdisc:probe');
    redis.disconnect();
  }
});

test('a discovered Compose manifest plans, flags what it cannot protect, and shows caches as caches', () => {
  const dir = stores.tempDir();
  const file = path.join(dir, 'lazarus.yaml');
  const eshop = path.join(fixtures, 'eshop', 'docker-compose.yml');
  expect(lazarus(['discover', '--compose', eshop, '-o', file]).code).toBe(0);
  const plan = lazarus(['plan', file]);
  expect(plan.code).toBe(0);
  expect(plan.stdout).toContain('not protected: sqldata keeps state in sqlserver');
  expect(plan.stdout).not.toContain('nosqldata keeps state');

  const hotel = path.join(dir, 'hotel.yaml');
  const compose = path.join(fixtures, 'hotel-reservation', 'docker-compose.yml');
  expect(lazarus(['discover', '--compose', compose, '-o', hotel]).code).toBe(0);
  const hotelPlan = lazarus(['plan', hotel]);
  expect(hotelPlan.stdout).toContain(
    'cache: memcached-rate (memcached memcached-rate:11211) holds nothing to back up; flushed after mongodb-rate is restored',
  );
  expect(hotelPlan.stdout).not.toMatch(/not protected|cannot back/);
  const caches = JSON.parse(lazarus(['plan', hotel, '--json']).stdout) as { caches: Record<string, unknown> };
  expect(caches.caches['memcached-reserve']).toEqual({
    engine: 'memcached',
    fronts: ['mongodb-reservation'],
  });
});

test('bad input is refused with the file and the fix, and no stack trace', () => {
  const dir = stores.tempDir();
  const broken = path.join(dir, 'compose.yml');
  writeFileSync(broken, 'services:\n  web:\n    image: [unclosed\n');
  for (const [args, message] of [
    [[], 'name at least one source'],
    [['--compose', broken], `${broken}: not a valid Compose file`],
    [['--compose', path.join(dir, 'missing.yml')], 'cannot read the Compose file'],
    [['--postgres', 'not a url'], '--postgres not a url: write a URL'],
    [['--redis', 'redis://127.0.0.1:1'], 'cannot list the databases at redis://127.0.0.1:1'],
  ] as const) {
    const run = lazarus(['discover', ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }
});

test('serverless functions: --wrangler, --serverless and --sam give function services depending on their state; the manifest plans', () => {
  const dir = stores.tempDir();
  const file = path.join(dir, 'functions.yaml');
  const wrangler = path.join(fixtures, 'workers-todo', 'wrangler.toml');
  const serverless = path.join(fixtures, 'serverless-image-gallery', 'serverless.yml');
  const sam = path.join(fixtures, 'sam-orders', 'template.yaml');
  const run = lazarus(['discover', '--serverless', serverless, '--stage', 'prod', '--sam', sam, '-o', file]);
  expect(run.code).toBe(0);
  expect(run.stderr).toContain('8 functions');
  const written = readFileSync(file, 'utf8');
  expect(written).toContain('# NOT PROTECTED: orders-prod (dynamodb)');
  const manifest = loadManifest(file);
  expect(manifest.services.thumbnail.function).toMatchObject({ name: 'image-gallery-prod-thumbnail' });
  expect(manifest.services.thumbnail.depends_on).toEqual([
    'image-gallery-prod-images',
    'image-gallery-prod-thumbnails',
    'image-gallery-prod-uploads',
  ]);
  const plan = lazarus(['plan', file]);
  expect(plan.code).toBe(0);
  expect(plan.stdout).toContain('not protected: orders-prod keeps state in dynamodb');

  // The Worker's wrangler path is written relative to the manifest's directory.
  const worker = discover(['--wrangler', path.dirname(wrangler)]);
  expect(worker.manifest.services['todo-api'].function).toEqual({
    platform: 'workerd',
    wrangler: path.relative(process.cwd(), wrangler),
    state: '.lazarus/workerd/todo-api',
  });
  expect(worker.manifest.services['todo-api'].depends_on).toEqual([
    'todo-api-sessions',
    'todo-api-todo-attachments',
    'todo-api-todo-db',
  ]);

  const broken = path.join(dir, 'template.yaml');
  writeFileSync(broken, 'Transform: AWS::Serverless-2016-10-31\nResources: [unclosed\n');
  for (const [args, message] of [
    [['--sam', broken], `${broken}: not valid YAML`],
    [['--serverless', path.join(dir, 'none.yml')], 'cannot read a Serverless Framework file'],
    [['--wrangler', dir], `${dir}: no wrangler.toml`],
  ] as const) {
    const failed = lazarus(['discover', ...args]);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain(message);
    expect(failed.stderr).not.toMatch(/\n\s+at /);
  }
});
