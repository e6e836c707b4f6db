import type { z } from 'zod';
import type { HandlerContext, HandlerIsolation, TaskHandler } from './handler.js';
import { IsolationPool } from './isolation/pool.js';

// Handlers are stored with their schema's type erased; the registry only ever feeds a handler what its own schema parsed.
type AnyHandler = TaskHandler<z.ZodType, unknown>;

export interface RegistryOptions {
  /** Where handlers run unless they say otherwise (Handlers:Isolation; default inline). */
  isolation?: HandlerIsolation;
  /** Thread and process pools (Handlers:PoolSize, Handlers:MemoryLimit); default size 4. */
  pool?: { size?: number; memoryLimitMb?: number; abortGraceMs?: number };
}

/** Runs a handler's code for one task: here, or in a pooled thread or process. */
export interface HandlerExecutor {
  run(handler: AnyHandler, payload: unknown, ctx: HandlerContext): Promise<unknown>;
}

const inline: HandlerExecutor = {
  // A handler that throws synchronously is still a rejected promise, never an escape.
  run: async (handler, payload, ctx) => handler.run(payload, ctx),
};

/** The handlers a worker runs, by task type, with the module each came from (an isolated run imports it again). */
export class HandlerRegistry {
  private readonly byType = new Map<string, { handler: AnyHandler; module?: string }>();
  private readonly pools = new Map<'thread' | 'process', IsolationPool>();
  readonly defaultIsolation: HandlerIsolation;

  constructor(
    handlers: Iterable<TaskHandler<z.ZodType, unknown>> = [],
    private readonly options: RegistryOptions = {},
  ) {
    this.defaultIsolation = options.isolation ?? 'inline';
    for (const h of handlers) this.register(h);
  }

  /** `module`: the file URL of the module exporting the handler; required for thread or process isolation. */
  register<S extends z.ZodType, R>(handler: TaskHandler<S, R>, module?: string): this {
    if (this.byType.has(handler.type))
      throw new Error(`HandlerRegistry: a handler for "${handler.type}" is already registered`);
    const entry = { handler: handler as unknown as AnyHandler, ...(module ? { module } : {}) };
    this.byType.set(handler.type, entry);
    const isolation = this.isolationOf(handler.type);
    if (isolation !== 'inline' && !module)
      throw new Error(
        `HandlerRegistry: "${handler.type}" runs with ${isolation} isolation, so it must come from a handler module (handlers/ or Handlers:Module), not be registered in code`,
      );
    return this;
  }

  get(type: string): AnyHandler | undefined {
    return this.byType.get(type)?.handler;
  }

  /** The file URL of the module that exports this type's handler, when it came from one. */
  moduleOf(type: string): string | undefined {
    return this.byType.get(type)?.module;
  }

  /** The handler's own isolation, else the registry's default; code-registered handlers always run inline. */
  isolationOf(type: string): HandlerIsolation {
    const e = this.byType.get(type);
    if (!e) return this.defaultIsolation;
    return e.handler.isolation ?? (e.module ? this.defaultIsolation : 'inline');
  }

  types(): string[] {
    return [...this.byType.keys()];
  }

  /** The effective timeout of a type (its own, else the default). */
  timeoutOf(type: string, defaultMs: number): number {
    return this.byType.get(type)?.handler.timeoutMs ?? defaultMs;
  }

  /** How this type's handler runs: inline, or in the pool of its isolation kind (created on first use). */
  executorFor(type: string): HandlerExecutor {
    const kind = this.isolationOf(type);
    const module = this.moduleOf(type);
    if (kind === 'inline' || !module) return inline;
    let pool = this.pools.get(kind);
    if (!pool) {
      const p = this.options.pool ?? {};
      const needsTsx = import.meta.url.endsWith('.ts') || [...this.byType.values()].some((e) => isTs(e.module));
      pool = new IsolationPool(
        {
          kind,
          size: p.size ?? 4,
          ...(p.memoryLimitMb ? { memoryLimitMb: p.memoryLimitMb } : {}),
          ...(p.abortGraceMs !== undefined ? { abortGraceMs: p.abortGraceMs } : {}),
        },
        needsTsx,
      );
      this.pools.set(kind, pool);
    }
    const used = pool;
    return { run: (_handler, payload, ctx) => used.run(module, payload, ctx) };
  }

  /** Terminates the isolation pools' threads and processes. */
  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.close()));
  }

  /** The effective retry limit of a type (its own, else undefined: the task's). */
  maxRetriesOf(type: string): number | undefined {
    return this.byType.get(type)?.handler.maxRetries;
  }
}

const isTs = (url: string | undefined) => !!url && /\.[mc]?ts$/.test(url);
