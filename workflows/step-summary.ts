/** `snapshot/orders` -> "snapshot orders": the line the Temporal UI shows for a step. */
export function stepSummary(activityId: string): string {
  return activityId.split('/').join(' ');
}
