import type { z } from 'zod';
import { loadConfig, type AppConfig } from '../config/load.js';
import { connectDatabase, type Database } from '../db/connect.js';
import { createLogger, type Logger } from '../log/logger.js';
import { createTaskStore } from '../store/create.js';
import type { TaskStore } from '../store/task-store.js';
import type { TaskHandler } from '../handlers/handler.js';
import { taskTypeRule, type TaskTypeRule } from '../handlers/known-types.js';
import { loadHandlers } from '../handlers/load.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import { WorkerRegistry } from '../worker-registry/registry.js';
import { taskDeadLettersFor, type TaskDeadLetters } from '../dead-letters/index.js';
import { setupTelemetry, telemetryConfigFromEnv, type TelemetryShutdown } from '../telemetry/index.js';

/** Where the code runs; recorded in worker host facts and logs. */
export type RuntimeKind = 'azure-functions' | 'function-compute' | 'local' | 'process';

/** Everything a trigger needs, built once per process and reused by warm invocations. */
export interface AppServices {
  runtime: RuntimeKind;
  config: AppConfig;
  logger: Logger;
  database: Database;
  store: TaskStore;
  registry: WorkerRegistry;
  handlers: HandlerRegistry;
  /** Failed tasks' dead letters (DeadLetter:Queue); undefined when off. */
  deadLetters?: TaskDeadLetters;
  /** Which task types the doors accept (handlers' types, Handlers:ExtraTypes, Handlers:AllowUnknownTypes). */
  taskTypes: TaskTypeRule;
  close(): Promise<void>;
}

export interface ServicesOptions {
  runtime: RuntimeKind;
  /** Default: loadConfig() from the environment. */
  config?: AppConfig;
  env?: Record<string, string | undefined>;
  logger?: Logger;
  /** Task handlers given in code, besides the loaded ones (built-ins, handlers/ or Handlers:Module). */
  handlers?: Iterable<TaskHandler<z.ZodType, unknown>>;
  /** Short for serverless hosts: a database outage should fail the invocation fast, not hang it. */
  serverSelectionTimeoutMs?: number;
}

/** One OpenTelemetry SDK per process, however many services objects it builds. */
let telemetry: Promise<TelemetryShutdown> | undefined;

export async function createServices(o: ServicesOptions): Promise<AppServices> {
  const config = o.config ?? loadConfig(o.env ? { env: o.env } : {});
  const logger = (o.logger ?? createLogger()).child({ runtime: o.runtime });
  // Exporters follow Telemetry__Exporter / APPLICATIONINSIGHTS_CONNECTION_STRING / OTEL_EXPORTER_OTLP_ENDPOINT; none by default.
  telemetry ??= setupTelemetry(telemetryConfigFromEnv(), { logger });
  await telemetry;
  // The handler module loads before the database connects: a broken module fails the start, not a task.
  const handlers = await loadHandlers(config, o.handlers ? { extra: o.handlers } : {});
  const database = await connectDatabase(config.MongoDB, {
    serverSelectionTimeoutMS: o.serverSelectionTimeoutMs ?? 5_000,
    appName: `taskmesh-${o.runtime}`,
  });
  const store = createTaskStore(database.db, config);
  const registry = new WorkerRegistry(database.db);
  try {
    // Idempotent and cheap when the indexes exist; a cold start pays it once.
    await Promise.all([store.ensureIndexes(), registry.ensureIndexes()]);
  } catch (e) {
    await database.close();
    await handlers.close();
    throw e;
  }
  const deadLetters = taskDeadLettersFor(config, store, logger);
  return {
    runtime: o.runtime,
    config,
    logger,
    database,
    store,
    registry,
    handlers,
    ...(deadLetters ? { deadLetters } : {}),
    taskTypes: taskTypeRule(handlers, config.Handlers),
    close: async () => {
      await deadLetters?.close();
      await handlers.close();
      await database.close();
    },
  };
}

let shared: Promise<AppServices> | undefined;

/**
 * The process-wide services of a serverless host: built by the first invocation, reused by warm ones.
 * A failed build (database down at cold start) is forgotten, so the next invocation tries again.
 */
export function sharedServices(o: ServicesOptions): Promise<AppServices> {
  if (!shared) {
    shared = createServices(o);
    shared.catch(() => {
      shared = undefined;
    });
  }
  return shared;
}

/** Flushes and stops the process's telemetry (before exit). */
export async function shutdownTelemetry(): Promise<void> {
  const t = telemetry;
  telemetry = undefined;
  if (t) await (await t)();
}

/** Forgets (and closes) the shared services: tests, and hosts that recycle configuration. */
export async function resetSharedServices(): Promise<void> {
  const s = shared;
  shared = undefined;
  if (s) await s.then((x) => x.close()).catch(() => undefined);
}
