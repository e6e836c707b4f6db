import type { z } from 'zod';
import type { Logger } from '../log/logger.js';

/** What a handler gets besides its payload. */
export interface HandlerContext {
  taskId: string;
  workerId: string;
  type: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborted on cancel, timeout, lost lease or shutdown; `signal.reason` says which (an AbortReason). */
  signal: AbortSignal;
  /** Child logger bound to taskId, workerId, type and attempt. */
  logger: Logger;
  /** Records progress; saved with the next heartbeat (the latest value wins). */
  progress(value: unknown): void;
  /** When the worker will abort this run (its timeout, or the invocation's deadline). */
  deadline: Date;
}

/** One task type: its payload schema, its code, and optionally its own timeout and retry limit. */
export interface TaskHandler<S extends z.ZodType = z.ZodType, R = unknown> {
  type: string;
  schema: S;
  /** Overrides Worker:TaskTimeout for this type. */
  timeoutMs?: number;
  /** Overrides the task's maxRetries for this type. */
  maxRetries?: number;
  run(payload: z.output<S>, ctx: HandlerContext): Promise<R> | R;
}

/** Type inference helper: the payload type comes from the schema. */
export function defineHandler<S extends z.ZodType, R>(handler: TaskHandler<S, R>): TaskHandler<S, R> {
  if (!handler.type) throw new Error('defineHandler: a handler needs a type');
  if (handler.timeoutMs !== undefined && !(handler.timeoutMs > 0))
    throw new Error(`defineHandler(${handler.type}): timeoutMs must be positive`);
  if (handler.maxRetries !== undefined && !(Number.isInteger(handler.maxRetries) && handler.maxRetries >= 0)) {
    throw new Error(`defineHandler(${handler.type}): maxRetries must be a whole number >= 0`);
  }
  return handler;
}
