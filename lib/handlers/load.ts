import type { z } from 'zod';
import type { AppConfig } from '../config/load.js';
import type { TaskHandler } from './handler.js';
import { appModuleUrl, builtinModuleUrl, importHandlerModule } from './module.js';
import { HandlerRegistry } from './registry.js';

export interface LoadHandlersOptions {
  /** Resolves a relative Handlers:Module (default process.cwd()). */
  cwd?: string;
  /** Handlers registered in code besides the modules' (they run inline). */
  extra?: Iterable<TaskHandler<z.ZodType, unknown>>;
  /** After an abort, how long an isolated handler may take to stop before it is terminated. */
  abortGraceMs?: number;
}

/**
 * The task handlers of this deployment, as every host loads them: the built-in echo, sleep and fail
 * (unless Handlers:BuiltIns is false), the application's module (handlers/ or Handlers:Module), and
 * any extra ones given in code. Pools for isolated handlers follow Handlers:PoolSize (default
 * Worker:Concurrency) and Handlers:MemoryLimit.
 */
export async function loadHandlers(
  config: Pick<AppConfig, 'Handlers' | 'Worker'>,
  o: LoadHandlersOptions = {},
): Promise<HandlerRegistry> {
  const h = config.Handlers;
  const registry = new HandlerRegistry([], {
    isolation: h.Isolation,
    pool: {
      size: h.PoolSize ?? config.Worker.Concurrency ?? config.Worker.BatchSize,
      ...(h.MemoryLimit ? { memoryLimitMb: h.MemoryLimit } : {}),
      ...(o.abortGraceMs !== undefined ? { abortGraceMs: o.abortGraceMs } : {}),
    },
  });
  const modules = [...(h.BuiltIns ? [builtinModuleUrl()] : []), appModuleUrl(h.Module, o.cwd)].filter(
    (m): m is string => m !== undefined,
  );
  for (const url of modules) {
    for (const handler of await importHandlerModule(url)) registry.register(handler, url);
  }
  for (const handler of o.extra ?? []) registry.register(handler);
  return registry;
}
