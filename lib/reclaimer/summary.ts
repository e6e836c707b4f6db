import type { RetentionResult } from '../store/task-store.js';

/** A reclaimer pass's steps: each may fail on its own while the others still run. */
export type ReclaimerStep = 'reclaim' | 'dead-letters' | 'workers' | 'retention' | 'record';

export interface ReclaimerSummary {
  runId: string;
  by: string;
  startedAt: Date;
  finishedAt: Date;
  durationMs: number;
  tasks: {
    found: number;
    retried: number;
    timedOut: number;
    /** A cancel had been requested: ended Cancelled. */
    cancelled: number;
    lostRaces: number;
    /** Tasks whose write failed (each logged with its id and skipped; the others were reclaimed). */
    failed: number;
    taskIds: string[];
  };
  workers: { markedDead: string[]; pruned: number };
  retention: RetentionResult | null;
  /** Failed tasks sent to DeadLetter:Queue by this pass (only when it is set). */
  deadLetters?: { found: number; sent: number; failed: number };
  errors: { step: ReclaimerStep; message: string }[];
  ok: boolean;
}
