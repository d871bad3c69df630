/** Which services a restore touches: the CLI's approval prompt and the workflow read the same answer. */
import { overwritesProduction, selectRestore, storesWritten } from '../../model/restore-selection';

const store = { kind: 'sqlite', path: '/x' };
const services = {
  web: { depends_on: ['orders', 'users'] },
  orders: { depends_on: ['users'], datastore: store },
  users: { depends_on: [], datastore: store },
};

test('left out, every service is restored, sorted', () => {
  expect(selectRestore(services, {})).toEqual({
    services: ['orders', 'users', 'web'],
    dependsOn: { orders: ['users'], users: [], web: ['orders', 'users'] },
    stateful: ['orders', 'users'],
  });
});

test('a subset keeps only dependencies inside it, unless dependencies are asked for', () => {
  expect(selectRestore(services, { services: ['web', 'orders'] })).toMatchObject({
    services: ['orders', 'web'],
    dependsOn: { orders: [], web: ['orders'] },
  });
  expect(selectRestore(services, { services: ['orders'], withDependencies: true }).services).toEqual([
    'orders',
    'users',
  ]);
});

test('a store restored into its --target does not overwrite production', () => {
  const selection = selectRestore(services, { services: ['orders', 'users'] });
  expect(storesWritten(selection, { orders: 'copy' })).toEqual({ inPlace: ['users'], targeted: ['orders'] });
  expect(overwritesProduction(selection, { orders: 'copy' })).toBe(true);
  expect(overwritesProduction(selection, { orders: 'copy', users: 'copy2' })).toBe(false);
});
