/** The repository's keys are its format: existing repositories hold these exact names. */
import * as layout from '../../repository/layout';

test('every kind of object keeps the key it has always had', () => {
  const pack = 'ab'.repeat(32);
  expect([
    layout.CONFIG_KEY,
    layout.LEGACY_CONFIG_KEY,
    layout.keyFileKey('k1', 'u1'),
    layout.packKey(pack),
    layout.packIdOf(layout.packKey(pack)),
    layout.indexKey('ff00'),
    layout.legacyObjectKey('cd01'),
    layout.catalogPrefix(),
    layout.backupKey('shop', '20261121T100000.000Z'),
    layout.holdKey('shop', '20261121T100000.000Z'),
    layout.heldBackupOf('shop', layout.holdKey('shop', 'b1')),
    layout.drillKey('shop', 'drill/shop/2026-11-21T10:00:00.000Z'),
    layout.lockKey('backup/shop/2026-11-21T10:00:00.000Z'),
  ]).toEqual([
    'config',
    'config.json',
    'keys/k1-u1.json',
    `data/ab/${pack}`,
    pack,
    'index/ff00',
    'objects/cd/cd01',
    'catalog/',
    'catalog/shop/20261121T100000.000Z.json',
    'holds/shop/20261121T100000.000Z.json',
    'b1',
    'drills/shop/drill_shop_2026-11-21T10_00_00.000Z.json',
    'locks/backup_shop_2026-11-21T10_00_00.000Z.json',
  ]);
});
