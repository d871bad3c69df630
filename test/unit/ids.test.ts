/** Every ID format is a registered name: these pin them byte for byte. */
import {
  adaptiveWorkflowId,
  backupIdAt,
  childWorkflowId,
  isTierScheduleId,
  nextBackupId,
  parseStep,
  partitionUnitId,
  scheduleIdFor,
  scheduledWorkflowIdPrefix,
  stagingId,
  stepId,
  tierScheduleId,
  workflowIdFor,
} from '../../contracts/ids';

const at = new Date('2026-11-21T10:00:00.000Z');

test('run, child and step IDs read as they always have', () => {
  expect(workflowIdFor('backup', 'shop', at)).toBe('backup/shop/2026-11-21T10:00:00.000Z');
  expect(childWorkflowId('restore/shop/x', partitionUnitId(2, 1))).toBe('restore/shop/x/L2-1');
  expect(stepId('snapshot', 'orders')).toBe('snapshot/orders');
  expect(stepId('hook', 'pre_backup', 'orders')).toBe('hook/pre_backup/orders');
  expect(parseStep('hook/pre_backup/orders')).toEqual({ step: 'hook', subject: 'pre_backup/orders' });
  expect(parseStep('restore/orders')).toEqual({ step: 'restore', subject: 'orders' });
});

test('staging IDs are the same hash of run and service', () => {
  expect(stagingId('backup/shop/2026-11-21T10:00:00.000Z', 'orders')).toMatch(/^[0-9a-f]{8}$/);
  expect(stagingId('r', 'a')).toBe(stagingId('r', 'a'));
  expect(stagingId('r', 'a')).not.toBe(stagingId('r', 'b'));
  expect(stagingId('drill/shop/1', 'drill')).toBe('9349d72d');
});

test('backup IDs are the start time without separators', () => {
  expect(backupIdAt(at)).toBe('20261121T100000.000Z');
  expect(nextBackupId('20261121T100000.000Z')).toBe('20261121T100000.001Z');
});

test('schedule and adaptive IDs', () => {
  expect(scheduleIdFor('drill', 'shop')).toBe('drill/shop');
  expect(scheduledWorkflowIdPrefix('verify', 'shop')).toBe('verify/shop/scheduled');
  expect(tierScheduleId('backup', 'shop', 'critical')).toBe('backup/shop/critical');
  expect(isTierScheduleId('backup/shop/critical', 'shop', ['backup', 'drill'])).toBe(true);
  expect(isTierScheduleId('drill/shop', 'shop', ['backup', 'drill'])).toBe(false);
  expect(adaptiveWorkflowId('shop')).toBe('adapt/shop');
});
