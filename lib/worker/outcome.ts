import type { Lease } from '../store/task-store.js';

export type OutcomeKind =
  | 'succeeded'
  | 'retrying'
  | 'failed'
  | 'timed-out'
  | 'cancelled'
  | 'released'
  | 'lease-lost'
  /** Unknown type or invalid payload: failed at once, not retried. */
  | 'rejected'
  /** The outcome could not be recorded (database unreachable until the worker stopped); the reclaimer retries the task. */
  | 'abandoned';

export interface TaskOutcome {
  taskId: string;
  type: string;
  attempt: number;
  workerId: string;
  outcome: OutcomeKind;
  /** The lease the run held (a success hook can key its own records on it). */
  lease: Lease;
  result?: unknown;
  error?: { message: string; kind: string };
  /** For 'retrying': when the next attempt is due. */
  nextAttemptAt?: Date;
  /** For 'released': the worker was stopping, or the task's own timeout did not fit before the deadline. */
  releasedBecause?: 'shutdown' | 'deadline';
  durationMs: number;
}

/** An outcome without the run's identity and duration, which the run adds once it is recorded. */
export type OutcomeDetail = Omit<TaskOutcome, 'taskId' | 'type' | 'attempt' | 'workerId' | 'lease' | 'durationMs'>;

export const outcomeKinds: readonly OutcomeKind[] = [
  'succeeded',
  'retrying',
  'failed',
  'timed-out',
  'cancelled',
  'released',
  'lease-lost',
  'rejected',
  'abandoned',
];
