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
  if (handler.timeoutMs !== undefined && !(handler.timeoutMs > 0)) throw new Error(`defineHandler(${handler.type}): timeoutMs must be positive`);
  if (handler.maxRetries !== undefined && !(Number.isInteger(handler.maxRetries) && handler.maxRetries >= 0)) {
    throw new Error(`defineHandler(${handler.type}): maxRetries must be a whole number >= 0`);
  }
  return handler;
}

// Handlers are stored with their schema's type erased; the registry only ever feeds a handler what its own schema parsed.
type AnyHandler = TaskHandler<z.ZodType, unknown>;

/** The handlers a worker runs, by task type. */
export class HandlerRegistry {
  private readonly byType = new Map<string, AnyHandler>();

  constructor(handlers: Iterable<TaskHandler<z.ZodType, unknown>> = []) {
    for (const h of handlers) this.register(h);
  }

  register<S extends z.ZodType, R>(handler: TaskHandler<S, R>): this {
    if (this.byType.has(handler.type)) throw new Error(`HandlerRegistry: a handler for "${handler.type}" is already registered`);
    this.byType.set(handler.type, handler as unknown as AnyHandler);
    return this;
  }

  get(type: string): AnyHandler | undefined {
    return this.byType.get(type);
  }

  types(): string[] {
    return [...this.byType.keys()];
  }

  /** The effective timeout of a type (its own, else the default). */
  timeoutOf(type: string, defaultMs: number): number {
    return this.byType.get(type)?.timeoutMs ?? defaultMs;
  }

  /** Types whose timeout fits in `remainingMs` (a serverless invocation never claims what it cannot finish). */
  typesFitting(remainingMs: number, defaultMs: number): string[] {
    return this.types().filter((t) => this.timeoutOf(t, defaultMs) <= remainingMs);
  }
}
