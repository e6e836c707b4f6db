export { Worker, createWorker } from './worker.js';
export {
  type WorkerOptions,
  type WorkerHooks,
  type WorkerSettings,
  type WorkerSummary,
  type StopReason,
} from './worker-options.js';
export { runWorkerInvocation, type WorkerInvocationOptions } from './invocation.js';
export { runWorkerProcess, type WorkerProcessOptions } from './worker-process.js';
export { resolveWorkerIdentity, type WorkerIdentity, type ResolveIdentityOptions } from './identity.js';
export { installShutdownHandlers, type Stoppable, type ShutdownOptions } from './shutdown.js';
export { TaskAbortedError, type AbortReason } from './task-run.js';
export type { TaskOutcome, OutcomeKind } from './outcome.js';
export {
  WorkerError,
  UnknownTaskTypeError,
  InvalidPayloadError,
  TaskTimeoutError,
  WorkerIdentityError,
} from './errors.js';
