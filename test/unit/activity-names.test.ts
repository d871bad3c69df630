/**
 * Activity names are registered names: recorded histories and runs in flight call them
 * by the keys of the object `createActivities` returns. Moving or splitting activities
 * must leave these keys exactly as they are.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createActivities } from '../../activities';
import { workerActivityDeps } from '../../worker/activity-deps';

const REGISTERED = [
  'captureBase',
  'captureFunction',
  'capturePreflight',
  'captureSession',
  'deployFunction',
  'flushCache',
  'groupCheckpoint',
  'lockRepository',
  'planPointRestore',
  'probeFunction',
  'proposeIntervals',
  'quiesceFunction',
  'removeSandboxRoot',
  'resolveBackup',
  'restoreService',
  'restoreToPoint',
  'resumeFunction',
  'runHook',
  'saveBackup',
  'saveDrillReport',
  'setScheduleInterval',
  'snapshotGroup',
  'snapshotService',
  'streamState',
  'targetsHoldingData',
  'tearDownFunction',
  'tearDownSandbox',
  'unlockRepository',
  'validateService',
  'verifyPackBatch',
  'verifyStructure',
];

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return jsonFiles(file);
    return file.endsWith('.json') ? [file] : [];
  });
}

function activityTypesIn(historyFile: string): string[] {
  const history = JSON.parse(readFileSync(historyFile, 'utf8')) as {
    events: { activityTaskScheduledEventAttributes?: { activityType: { name: string } } }[];
  };
  return history.events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType.name ?? []);
}

test('the worker registers exactly the activity names it always has', () => {
  expect(Object.keys(createActivities(workerActivityDeps())).sort()).toEqual(REGISTERED);
});

test('every activity a recorded history calls is still registered', () => {
  const recorded = new Set(jsonFiles(path.join(__dirname, '../fixtures/histories')).flatMap(activityTypesIn));
  expect(recorded.size).toBeGreaterThan(10);
  expect([...recorded].filter((name) => !REGISTERED.includes(name))).toEqual([]);
});
