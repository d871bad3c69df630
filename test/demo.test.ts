/**
 * The README's first command, as a user runs it: the demo must seed, back up, break,
 * restore and find every service's data equal to the original.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const CLI = path.resolve(__dirname, '..', 'dist', 'client', 'cli.js');

function demo(args: string[], timeout = 240_000) {
  // The demo picks its own embedded server (or one already on 127.0.0.1:7233).
  const env = { ...process.env };
  delete env.TEMPORAL_ADDRESS;
  const result = spawnSync(process.execPath, [CLI, 'demo', ...args], {
    encoding: 'utf8',
    env,
    timeout,
  });
  return { code: result.status, out: result.stdout };
}

test('npm run demo: every embedded service comes back exactly as it was', () => {
  const { code, out } = demo([]);
  expect(out).toContain('4/4 services hold exactly the data they held before the disaster');
  expect(out).toMatch(/whole application restored in .* \(succeeded\)/);
  expect(out).toMatch(/http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\/restore%2Fshop%2F/);
  expect(out).toMatch(/drill of shop, backup \S+: passed/);
  expect(out).toMatch(
    /RTO [\d.]+ (ms|s) \(target 15\.0 min, met\)\s+RPO [\d.]+ (ms|s) \(target 1\.0 h, met\)\s+sandbox removed/,
  );
  expect(code).toBe(0);
}, 300_000);

test('demo --with-servers: PostgreSQL, MariaDB, Redis, MongoDB, RabbitMQ and NATS services come back too', () => {
  const { code, out } = demo(['--with-servers'], 480_000);
  for (const service of ['payments', 'inventory', 'sessions', 'reviews', 'events', 'notifications'])
    expect(out).toMatch(new RegExp(`OK\\s+${service}`));
  expect(out).toContain('10/10 services hold exactly the data they held before the disaster');
  expect(out).toMatch(/sessions-cache\s.*flushed/);
  expect(out).toMatch(/drill of shop-servers, backup \S+: passed/);
  expect(code).toBe(0);
}, 540_000);
