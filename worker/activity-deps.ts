/**
 * The real collaborators of the activities: the datastore adapters, the repository, the
 * hook runner and the Temporal client. Built here and only here (createWorker uses it; a
 * test that calls activities directly does too). Apart from create-worker.ts so that it
 * can be loaded without the worker's native runtime.
 */
import { Context } from '@temporalio/activity';
import type { ActivityDeps, ActivitySettings } from '../activities';
import { runHookOnce } from '../activities/hooks';
import { adapterFor } from '../datastores/adapters';
import { captureEngineFor } from '../datastores/capture-engines';
import { platformFor } from '../functions/platforms';
import { flushCache } from '../datastores/caches/flush';
import { Repository } from '../repository/repository';

export function workerActivityDeps(settings: ActivitySettings = {}): ActivityDeps {
  return {
    ...settings,
    adapterFor,
    captureEngineFor,
    platformFor,
    flushCache,
    openRepository: (spec, options) => Repository.open(spec, options),
    runHookOnce,
    // The client of the worker running the activity: known only inside the activity.
    schedules: () => Context.current().client.schedule,
  };
}
