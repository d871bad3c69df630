/** Progress that a run exposes through its query, updated as services start and finish. */
import { defineQuery, setHandler } from '@temporalio/workflow';
import type { NodeOutcome, RunProgress } from './types';

export const progressQuery = defineQuery<RunProgress>('progress');

export class RunState {
  private readonly services: Record<string, NodeOutcome> = {};
  private readonly running = new Set<string>();
  awaitingApproval = false;

  constructor(private readonly total: number) {
    setHandler(progressQuery, () => this.progress());
  }

  started(members: string[]): void {
    members.forEach((m) => this.running.add(m));
  }

  finished(outcomes: Record<string, NodeOutcome>): void {
    for (const [name, outcome] of Object.entries(outcomes)) {
      this.running.delete(name);
      this.services[name] = outcome;
    }
  }

  progress(): RunProgress {
    return {
      total: this.total,
      awaitingApproval: this.awaitingApproval || undefined,
      done: Object.keys(this.services).length,
      running: [...this.running].sort(),
      services: { ...this.services },
    };
  }
}
