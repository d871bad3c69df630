/**
 * Temporal lookups where "not there" is an answer, not an error: a schedule removed or a
 * workflow never started. One place, for the CLI and for activities alike.
 */
import {
  type ScheduleDescription,
  type ScheduleHandle,
  ScheduleNotFoundError,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
  WorkflowNotFoundError,
} from '@temporalio/client';

/** For `.catch()`: a missing schedule or workflow becomes `value`; anything else is rethrown. */
export function missingOnServerAs<T>(value: T) {
  return (err: unknown): T => {
    if (err instanceof ScheduleNotFoundError || err instanceof WorkflowNotFoundError) return value;
    throw err;
  };
}

export function describeSchedule(handle: ScheduleHandle): Promise<ScheduleDescription | undefined> {
  return handle.describe().catch(missingOnServerAs(undefined));
}

export function describeWorkflow(handle: WorkflowHandle): Promise<WorkflowExecutionDescription | undefined> {
  return handle.describe().catch(missingOnServerAs(undefined));
}
