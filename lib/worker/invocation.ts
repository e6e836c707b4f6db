import type { WorkerOptions, WorkerSummary } from './worker-options.js';
import { Worker } from './worker.js';

export interface WorkerInvocationOptions extends Omit<WorkerOptions, 'exitWhenIdle' | 'deadline'> {
  /** The invocation's deadline: its start plus the platform's function timeout. */
  deadline: Date | number;
  /** The host cancelled the invocation: release everything at once. */
  signal?: AbortSignal;
}

/**
 * One worker invocation (a serverless function execution's share of the work): claims and runs tasks until there is none (or none
 * that fits before the deadline), then returns a summary. Nothing is claimed whose timeout does not
 * fit before `deadline` minus a margin; anything still running at that point is released, not lost.
 */
export async function runWorkerInvocation(o: WorkerInvocationOptions): Promise<WorkerSummary> {
  const worker = new Worker({ ...o, exitWhenIdle: true, deadline: o.deadline });
  const onAbort = () => void worker.stop('aborted', { timeoutMs: 0 });
  if (o.signal?.aborted) onAbort();
  else o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await worker.run();
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
}
