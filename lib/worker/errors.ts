/** Errors of the worker runtime. Each carries the context an operator needs (task, worker, setting). */

export class WorkerError extends Error {
  constructor(
    message: string,
    readonly context: { taskId?: string; workerId?: string; setting?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'WorkerError';
  }
}

/** A task whose type no handler is registered for. Final: retrying cannot help. */
export class UnknownTaskTypeError extends WorkerError {
  constructor(
    readonly taskType: string,
    taskId: string,
    workerId: string,
    known: readonly string[],
  ) {
    super(`task ${taskId}: no handler for type "${taskType}" (this worker handles: ${known.join(', ') || 'nothing'})`, {
      taskId,
      workerId,
    });
    this.name = 'UnknownTaskType';
  }
}

/** A payload that fails its handler's schema. Final: the same payload fails again. */
export class InvalidPayloadError extends WorkerError {
  constructor(
    readonly taskType: string,
    taskId: string,
    workerId: string,
    readonly issues: string,
  ) {
    super(`task ${taskId}: payload is not valid for "${taskType}": ${issues}`, { taskId, workerId });
    this.name = 'InvalidPayload';
  }
}

/** The handler outlived its timeout. */
export class TaskTimeoutError extends WorkerError {
  constructor(
    taskId: string,
    workerId: string,
    readonly timeoutMs: number,
  ) {
    super(`task ${taskId}: handler did not finish within its timeout of ${timeoutMs} ms`, { taskId, workerId });
    this.name = 'Timeout';
  }
}

/** The worker could not resolve or lock its identity (state directory unusable, all slots taken). */
export class WorkerIdentityError extends WorkerError {
  constructor(message: string, setting?: string, options?: { cause?: unknown }) {
    super(message, setting ? { setting } : {}, options);
    this.name = 'WorkerIdentityError';
  }
}
