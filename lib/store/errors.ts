import { statusName } from '../tasks/status.js';

/** Base class for store errors; each carries the task it concerns. */
export class TaskStoreError extends Error {
  constructor(
    message: string,
    readonly taskId?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TaskStoreError';
  }
}

/** A versioned write lost a race: the task changed since the caller read it. Never a silent overwrite. */
export class VersionConflictError extends TaskStoreError {
  constructor(
    taskId: string,
    readonly expectedVersion: number,
    readonly actualVersion: number | null,
    readonly actualStatus?: number,
  ) {
    super(
      actualVersion === null
        ? `task ${taskId}: expected version ${expectedVersion} but the task no longer exists`
        : `task ${taskId}: expected version ${expectedVersion} but found ${actualVersion}${actualStatus !== undefined ? ` (status ${statusName(actualStatus)})` : ''}; reload and try again`,
      taskId,
    );
    this.name = 'VersionConflictError';
  }
}

export class TaskNotFoundError extends TaskStoreError {
  constructor(taskId: string) {
    super(`task ${taskId} not found`, taskId);
    this.name = 'TaskNotFoundError';
  }
}

/** An operation is not allowed from the task's current state (e.g. retry of a Succeeded task). */
export class TaskStateError extends TaskStoreError {
  constructor(
    taskId: string,
    readonly status: number,
    action: string,
  ) {
    super(`task ${taskId}: cannot ${action} a task in status ${statusName(status)}`, taskId);
    this.name = 'TaskStateError';
  }
}

/** Errors worth retrying (network, server selection, primary stepping down). */
export function isTransientDbError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const name = e.name;
  if (
    [
      'MongoNetworkError',
      'MongoNetworkTimeoutError',
      'MongoServerSelectionError',
      'MongoTopologyClosedError',
      'MongoNotConnectedError',
      'MongoPoolClearedError',
      'PoolClearedOnNetworkError',
    ].includes(name)
  )
    return true;
  const labels = (e as { errorLabels?: unknown }).errorLabels;
  if (labels instanceof Set && (labels.has('RetryableWriteError') || labels.has('TransientTransactionError')))
    return true;
  if (Array.isArray(labels) && (labels.includes('RetryableWriteError') || labels.includes('TransientTransactionError')))
    return true;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'number' && [6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436].includes(code);
}

/**
 * The database refused one caller's write in a shared (coalesced) write, e.g. a document at its size
 * limit. The other callers' writes were decided on their own; the same write alone would fail the same way.
 */
export class WriteRefusedError extends TaskStoreError {
  constructor(
    taskId: string,
    readonly code: number,
    detail: string | undefined,
  ) {
    super(`task ${taskId}: the database refused the write (code ${code})${detail ? `: ${detail}` : ''}`, taskId);
    this.name = 'WriteRefusedError';
  }
}

/** An ordering key's turn could not be handed over: other writers kept changing the key (it is retried as a whole). */
export class OrderingConflictError extends TaskStoreError {
  constructor(
    readonly key: string,
    taskId: string | undefined,
    rounds: number,
  ) {
    super(
      `ordering key "${key}": the turn could not be handed over after ${rounds} tries (concurrent writers)`,
      taskId,
    );
    this.name = 'OrderingConflictError';
  }
}
