import type { z } from 'zod';
import type { TaskHandler } from './handler.js';

// Handlers are stored with their schema's type erased; the registry only ever feeds a handler what its own schema parsed.
type AnyHandler = TaskHandler<z.ZodType, unknown>;

/** The handlers a worker runs, by task type. */
export class HandlerRegistry {
  private readonly byType = new Map<string, AnyHandler>();

  constructor(handlers: Iterable<TaskHandler<z.ZodType, unknown>> = []) {
    for (const h of handlers) this.register(h);
  }

  register<S extends z.ZodType, R>(handler: TaskHandler<S, R>): this {
    if (this.byType.has(handler.type))
      throw new Error(`HandlerRegistry: a handler for "${handler.type}" is already registered`);
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
}
