import type { z } from 'zod';
import type { Logger } from '../log/logger.js';

/** Where a handler runs: on the worker's own event loop, in a pooled worker thread, or in a pooled child process. */
export type HandlerIsolation = 'inline' | 'thread' | 'process';
export const handlerIsolations: readonly HandlerIsolation[] = ['inline', 'thread', 'process'];

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
  /** Same as `logger` (the name BullMQ and Agenda users look for). */
  log: Logger;
  /** Records progress; saved with the next heartbeat (the latest value wins). */
  progress(value: unknown): void;
  /** When the worker will abort this run (its timeout, or the invocation's deadline). */
  deadline: Date;
}

/** One task type: its payload schema, its code, and optionally its own timeout, retry limit and isolation. */
export interface TaskHandler<S extends z.ZodType = z.ZodType, R = unknown> {
  type: string;
  schema: S;
  /** Overrides Worker:TaskTimeout for this type. */
  timeoutMs?: number;
  /** Overrides the task's maxRetries for this type. */
  maxRetries?: number;
  /** Overrides Handlers:Isolation for this type. */
  isolation?: HandlerIsolation;
  run(payload: z.output<S>, ctx: HandlerContext): Promise<R> | R;
}

/** What `defineHandler` takes: the payload schema as `payload` (or `schema`), the timeout as `timeout` (or `timeoutMs`) in ms. */
export type HandlerDefinition<S extends z.ZodType, R> = {
  type: string;
  maxRetries?: number;
  timeout?: number;
  timeoutMs?: number;
  isolation?: HandlerIsolation;
  run(payload: z.output<S>, ctx: HandlerContext): Promise<R> | R;
} & ({ payload: S; schema?: never } | { schema: S; payload?: never });

/** Declares a task type; the payload's type comes from the schema. */
export function defineHandler<S extends z.ZodType, R>(def: HandlerDefinition<S, R>): TaskHandler<S, R> {
  const type = def.type;
  if (!type || typeof type !== 'string') throw new Error('defineHandler: a handler needs a type');
  const schema = (def.payload ?? def.schema) as S | undefined;
  if (!schema || typeof (schema as { safeParse?: unknown }).safeParse !== 'function')
    throw new Error(`defineHandler(${type}): "payload" must be a zod schema`);
  const timeoutMs = def.timeout ?? def.timeoutMs;
  if (timeoutMs !== undefined && !(timeoutMs > 0)) throw new Error(`defineHandler(${type}): timeout must be positive`);
  if (def.maxRetries !== undefined && !(Number.isInteger(def.maxRetries) && def.maxRetries >= 0)) {
    throw new Error(`defineHandler(${type}): maxRetries must be a whole number >= 0`);
  }
  if (def.isolation !== undefined && !handlerIsolations.includes(def.isolation))
    throw new Error(`defineHandler(${type}): isolation must be one of ${handlerIsolations.join(', ')}`);
  if (typeof def.run !== 'function') throw new Error(`defineHandler(${type}): run must be a function`);
  return {
    type,
    schema,
    run: def.run,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(def.maxRetries !== undefined ? { maxRetries: def.maxRetries } : {}),
    ...(def.isolation !== undefined ? { isolation: def.isolation } : {}),
  };
}
