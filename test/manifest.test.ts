import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ManifestError } from '../model/errors';
import { restoreLayers, withDependencies } from '../model/graph';
import { manifestJsonSchema, SCHEMA_FILE } from '../config/json-schema';
import { loadManifest, parseManifest } from '../config/load-manifest';
import { desiredSchedules } from '../model/tier-schedules';
import { lazarus } from './support/cli';
import { tempDir, writeManifest } from './support/stores';

function problemsOf(yaml: string): string[] {
  try {
    parseManifest(yaml, '/srv/shop/app.yaml');
  } catch (err) {
    if (err instanceof ManifestError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  throw new Error('manifest was accepted');
}

describe('manifest validation', () => {
  test('a cycle is rejected and printed as its path', () => {
    const problems = problemsOf(`app: shop
services:
  a: { depends_on: [b] }
  b: { depends_on: [c] }
  c: { depends_on: [a] }
  d: { depends_on: [a] }`);
    expect(problems).toEqual([
      'services.a.depends_on: dependency cycle: a -> b -> c -> a; remove one of these edges',
    ]);
  });

  test('an unknown reference names the field and the known services', () => {
    expect(problemsOf('app: shop\nservices:\n  a: { depends_on: [ghost] }\n  b: {}')).toEqual([
      'services.a.depends_on.0: unknown service "ghost"; known services: a, b',
    ]);
  });

  test('a wrong datastore kind lists the allowed kinds', () => {
    expect(problemsOf('app: shop\nservices:\n  a: { datastore: { kind: mongo, path: x } }')).toEqual([
      'services.a.datastore.kind: unknown value; allowed: sqlite, directory, postgres, mariadb, redis, rabbitmq, mongodb, nats, s3, d1, kv, r2',
    ]);
  });

  test('missing fields, wrong values and unknown fields are all reported at once', () => {
    expect(problemsOf('services:\n  a: { tier: Gold, datastore: { kind: postgres }, extra: 1 }')).toEqual([
      'app: required (string)',
      'services.a.tier: use lowercase letters, digits, "-" and "_" (at most 63 characters)',
      'services.a.datastore.database: required (string)',
      'services.a: unknown field "extra"',
    ]);
  });

  test('consistency groups: only known, stateful services, each in one group', () => {
    const withFreeze = (maxFreeze: string) => `app: shop
services:
  a: { datastore: { kind: sqlite, path: a.db } }
  b: {}
consistency_groups:
  g1: { members: [a, b, ghost] }
  g2: { members: [a], max_freeze: ${maxFreeze} }`;
    expect(problemsOf(withFreeze('90s'))).toEqual(['consistency_groups.g2.max_freeze: at most 60s']);
    expect(problemsOf(withFreeze('1s'))).toEqual([
      'consistency_groups.g1.members.1: "b" has no datastore; only stateful services join a group',
      'consistency_groups.g1.members.2: unknown service "ghost"',
      'consistency_groups.g2.members.0: "a" is already in group "g1"',
    ]);
  });

  test('hooks, validators and durations say what is wrong and what is allowed', () => {
    expect(
      problemsOf(`app: shop
hooks:
  before_backup: { command: ./x.sh, timeout: soon }
services:
  a:
    datastore: { kind: redis }
    hooks: { pre_backup: { script: x } }
    validate: [{ sql: SELECT 1 }, { key_count: { pattern: 'k:*' } }]
  b: { validate: [{ row_count: { table: t } }] }`),
    ).toEqual([
      'services.a.hooks.pre_backup: a hook is {command: "..."} or {http: {url: "..."}}, with optional timeout and on_error',
      'hooks.before_backup.timeout: "soon" is not a duration; write seconds (30) or a number with a unit: 500ms, 30s, 5m, 1h, 7d',
    ]);
    expect(
      problemsOf(`app: shop
services:
  a:
    datastore: { kind: redis }
    validate: [{ sql: SELECT 1 }, { key_count: { pattern: 'k:*' } }]
  b: { validate: [{ row_count: { table: t } }] }`),
    ).toEqual([
      'services.a.validate.0: sql and row_count need an SQL datastore, not redis',
      'services.b.validate.0: a stateless service can only have command or http validators',
    ]);
  });

  test('a secret must be a reference, not a value', () => {
    expect(
      problemsOf(
        'app: shop\nservices:\n  a: { datastore: { kind: postgres, database: x, password: hunter2 } }',
      ),
    ).toEqual([
      'services.a.datastore.password: must be a reference, {env: NAME} or {file: PATH}, never the secret itself',
    ]);
  });

  test('a wrong type names the type expected and the value given, not "required"', () => {
    expect(
      problemsOf(`app: shop
services:
  orders: { datastore: { kind: postgres, database: o, port: "abc" } }
  web: { depends_on: "orders, api", tier: 5 }`),
    ).toEqual([
      'services.orders.datastore.port: expected a number, got the string "abc"',
      'services.web.tier: expected a string, got the number 5',
      'services.web.depends_on: expected a list, got the string "orders, api"',
    ]);
    expect(problemsOf('app: shop\nservices: "a, b"')).toEqual([
      'services: expected a mapping, got the string "a, b"',
    ]);
  });

  test('an empty file, a list or a scalar says what a manifest is', () => {
    const shape = 'a manifest is a mapping with app and services (app: shop, services: {...})';
    expect(problemsOf('')).toEqual([`: the file is empty; ${shape}`]);
    expect(problemsOf('# only a comment\n')).toEqual([`: the file is empty; ${shape}`]);
    expect(problemsOf('- app: shop\n- services: {}')).toEqual([`: the file holds a list; ${shape}`]);
    expect(problemsOf('shop')).toEqual([`: the file holds the string "shop"; ${shape}`]);
  });

  test('a YAML alias bomb ("billion laughs") exits 2 naming the file', async () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      levels.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(', ')}]`,
      );
    }
    const file = path.join(tempDir(), 'bomb.yaml');
    writeFileSync(file, `${levels.join('\n')}\napp: shop\nservices: { a: {} }\n`);
    const result = lazarus(['plan', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}: invalid manifest`);
    expect(result.stderr).toContain('YAML aliases: Excessive alias count');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  test('a key given twice is reported with its field and lines', () => {
    expect(
      problemsOf(`app: shop
services:
  a: { datastore: { kind: sqlite, path: a.db, path: b.db } }
  b: {}
  a: {}`),
    ).toEqual([
      'services: "a" is given twice (lines 3 and 5); keep one',
      'services.a.datastore: "path" is given twice (lines 3 and 3); keep one',
    ]);
  });

  test('YAML syntax errors are reported with the file', () => {
    expect(() => parseManifest('app: [unclosed', 'broken.yaml')).toThrow(
      /broken.yaml: [\s\S]*YAML syntax: .* at line 1, column 15/,
    );
  });

  test('tiers of your own: declared with their targets and retention, then scheduled like the built-in ones', () => {
    const services = `services:
  orders: { tier: gold, datastore: { kind: sqlite, path: o.db } }
  files: { tier: bronze, datastore: { kind: directory, path: f } }`;
    expect(problemsOf(`app: shop\n${services}\ntiers:\n  gold: { rpo: 5m, adaptive: { min: 1m } }`)).toEqual([
      'services.files.tier: unknown tier "bronze": use one of critical, standard, archive, gold, or declare it under tiers',
      'tiers.gold.rto: required: a tier of your own has no default rto (only critical, standard, archive do)',
      'tiers.gold.retention: required: a tier of your own has no default retention (only critical, standard, archive do)',
      'tiers.gold.adaptive.at_risk: required: a tier of your own has no default at_risk; write a size such as 64MiB',
    ]);
    const m = parseManifest(
      `app: shop
${services}
tiers:
  gold: { rto: 5m, rpo: 5m, retention: { hourly: 24 }, drill: { cron: "0 3 * * *" } }
  bronze: { rto: 2d, rpo: 7d, retention: { monthly: 12 } }
  critical: { rpo: 30m }`,
      '/srv/shop/app.yaml',
    );
    expect(Object.keys(m.tiers)).toEqual(['critical', 'standard', 'archive', 'gold', 'bronze']);
    expect(m.tiers.critical).toMatchObject({ rto: 15 * 60_000, rpo: 30 * 60_000 }); // defaults under what is set
    expect(
      desiredSchedules(m).map((s) => [
        s.scheduleId,
        s.services,
        'every' in s.cadence ? s.cadence.every : s.cadence.cron,
      ]),
    ).toEqual([
      ['backup/shop/bronze', ['files'], 7 * 86_400_000],
      ['backup/shop/gold', ['orders'], 5 * 60_000],
      ['drill/shop/gold', ['orders'], '0 3 * * *'],
    ]);
  });

  test('a file store at the filesystem root, or holding or inside the repository, is refused', () => {
    const at = (path: string, repository = '') =>
      problemsOf(
        `app: shop\n${repository}services:\n  files: { datastore: { kind: directory, path: "${path}" } }`,
      );
    expect(at('/')).toEqual([
      "services.files.datastore.path: / is the filesystem root: a restore would replace every file; name the directory that holds files's data",
    ]);
    expect(at('../../../../../../..')).toHaveLength(1); // resolves to / as well
    // The default repository is .lazarus/repo beside the manifest: the manifest's directory holds it.
    expect(at('.')).toEqual([
      'services.files.datastore.path: /srv/shop holds the repository /srv/shop/.lazarus/repo: a backup would copy the repository into itself and a restore would replace it; move one of them (repository.path)',
    ]);
    expect(at('/backups/shop/data', 'repository: { path: /backups/shop }\n')).toEqual([
      'services.files.datastore.path: /backups/shop/data is inside the repository /backups/shop: a backup would copy the repository into itself and a restore would replace it; move one of them (repository.path)',
    ]);
    expect(() =>
      parseManifest(
        'app: shop\nrepository: { path: /backups/shop }\nservices:\n  files: { datastore: { kind: directory, path: . } }',
        '/srv/shop/app.yaml',
      ),
    ).not.toThrow();
  });

  test('relative paths resolve against the manifest, defaults apply', () => {
    const m = parseManifest(
      'app: shop\nservices:\n  a: { datastore: { kind: sqlite, path: data/a.db } }',
      '/srv/shop/app.yaml',
    );
    expect(m.services.a.datastore).toEqual({ kind: 'sqlite', path: '/srv/shop/data/a.db' });
    expect(m.services.a.tier).toBe('standard');
    expect(m.repository).toEqual({ location: '/srv/shop/.lazarus/repo' });
  });
});

describe('a large manifest', () => {
  /** Block YAML as people write it: n services, each depending on an earlier one. */
  function manifestOf(services: number): string {
    const file = path.join(tempDir(), `large-${services}.yaml`);
    const lines = ['app: large', 'services:'];
    for (let i = 0; i < services; i++) {
      lines.push(`  svc-${i}:`, `    depends_on: [${i < 20 ? '' : `svc-${(i * 7919) % i}`}]`);
      lines.push('    datastore:', '      kind: directory', `      path: data/svc-${i}`);
    }
    writeFileSync(file, lines.join('\n'));
    return file;
  }
  const loadTime = (file: string) => {
    const start = process.hrtime.bigint();
    const manifest = loadManifest(file);
    return {
      ms: Number(process.hrtime.bigint() - start) / 1e6,
      services: Object.keys(manifest.services).length,
    };
  };

  test('loads in time linear in its services: 50,000 take about 10x what 5,000 take, not 100x', () => {
    const small = manifestOf(5_000);
    const large = manifestOf(50_000);
    loadTime(small); // warms the JIT up, which would otherwise count against the small one
    const five = loadTime(small);
    const fifty = loadTime(large);
    expect(fifty.services).toBe(50_000);
    // Linear is 10x; the quadratic duplicate-key check this guards against measured ~30x.
    expect(fifty.ms / five.ms).toBeLessThan(16);
  }, 180_000);
});

describe('dependency graph', () => {
  const services = {
    db: { depends_on: [] },
    cache: { depends_on: [] },
    api: { depends_on: ['db', 'cache'] },
    worker: { depends_on: ['db'] },
    web: { depends_on: ['api'] },
  };

  test('restore layers put dependencies first and parallel branches together', () => {
    expect(restoreLayers(services)).toEqual([['cache', 'db'], ['api', 'worker'], ['web']]);
  });

  test('with-dependencies adds everything a service needs, transitively', () => {
    expect(withDependencies(services, ['web'])).toEqual(['api', 'cache', 'db', 'web']);
  });
});

describe('lazarus plan', () => {
  test('--json prints the app and its layers', () => {
    const result = lazarus(['plan', 'examples/shop/lazarus.yaml', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      app: 'shop',
      layers: [['accounts', 'catalog', 'media'], ['orders'], ['api'], ['storefront']],
    });
  });

  test('a bad manifest exits 2 with the file, field and fix, and no stack trace', async () => {
    const file = await writeManifest(tempDir(), {
      app: 'x',
      services: { a: { depends_on: ['b'] }, b: { depends_on: ['a'] } },
    });
    const result = lazarus(['plan', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}: invalid manifest`);
    expect(result.stderr).toContain('services.a.depends_on: dependency cycle: a -> b -> a');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  test('a missing file is a clear error', () => {
    const result = lazarus(['plan', 'nope.yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('lazarus: nope.yaml: cannot read the manifest (ENOENT)\n');
  });

  test('every command has --help', () => {
    for (const command of [
      'dev',
      'worker',
      'plan',
      'backup',
      'restore',
      'backups',
      'runs',
      'show',
      'verify',
      'demo',
    ]) {
      const result = lazarus([command, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Usage: lazarus ${command}`);
    }
  });
});

test('the committed JSON Schema matches the manifest definition (npm run schema)', () => {
  expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(manifestJsonSchema());
  expect(() => loadManifest(path.resolve('examples/shop/lazarus.servers.yaml'))).not.toThrow();
});
