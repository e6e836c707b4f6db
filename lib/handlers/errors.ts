/**
 * Thrown by a handler to fail the task for good, whatever attempts remain (a bad request that
 * retrying cannot fix).
 */
export class NonRetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}

/** A handler module that cannot be found, loaded, or does not export handlers. */
export class HandlerModuleError extends Error {
  constructor(
    message: string,
    readonly module: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HandlerModuleError';
  }
}

/** An isolated handler's thread or process died under its task (uncaught error, process.exit, out of memory). */
export class HandlerCrashedError extends Error {
  constructor(
    message: string,
    readonly isolation: 'thread' | 'process',
  ) {
    super(message);
    this.name = 'HandlerCrashed';
  }
}

/** A task type no handler declares, refused at the door (ingest, POST /api/tasks). */
export class UnknownTaskTypeRefusedError extends Error {
  constructor(
    readonly taskType: string,
    readonly knownTypes: readonly string[],
  ) {
    super(
      `task type "${taskType}" has no handler; known types: ${knownTypes.join(', ') || 'none'} (handlers/ or Handlers:Module declares types; Handlers:ExtraTypes adds types served by another deployment)`,
    );
    this.name = 'UnknownTaskType';
  }
}
