import { setTimeout as sleep } from 'node:timers/promises';
import type { AppConfig } from '../config/load.js';
import { connectDatabase, type Database } from '../db/connect.js';
import { createStorePolicy, type ResilienceOptions } from '../db/resilience.js';
import { errorMessage } from '../errors/message.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import type { Logger } from '../log/logger.js';
import { startReclaimerLoop, type ReclaimerLoop } from '../reclaimer/schedule.js';
import { createTaskStore } from '../store/create.js';
import { taskDeadLettersFor } from '../dead-letters/index.js';
import { resolveWorkerIdentity } from './identity.js';
import { WorkerRegistry } from '../worker-registry/registry.js';
import { installShutdownHandlers } from './shutdown.js';
import type { WorkerHooks, WorkerSummary } from './worker-options.js';
import { Worker } from './worker.js';

export interface WorkerProcessOptions {
  config: AppConfig;
  handlers: HandlerRegistry;
  logger: Logger;
  hooks?: WorkerHooks;
  resilience?: ResilienceOptions;
  /** Run reclaimer passes in this process too (default true; every HeartbeatTimeout / 2). */
  reclaimer?: boolean | { everyMs?: number };
  /** Server selection timeout of the worker's client: short, so an outage is noticed (and waited out) quickly. */
  serverSelectionTimeoutMs?: number;
  /** Called once the worker runs (fixtures print a ready line). */
  onStarted?(worker: Worker, db: Database): void | Promise<void>;
  /** Environment for the identity (default process.env). */
  env?: Record<string, string | undefined>;
}

/**
 * A long-lived worker process (the container command of the Kubernetes deployment, `npm run worker`):
 * connects (waiting for the database if it is not up yet), declares indexes, takes its identity, runs
 * until SIGTERM/SIGINT, drains, and closes.
 */
export async function runWorkerProcess(o: WorkerProcessOptions): Promise<WorkerSummary> {
  const { config, logger } = o;
  const identity = resolveWorkerIdentity({
    ...(o.env ? { env: o.env } : {}),
    ...(config.Worker.StateDirectory ? { stateDirectory: config.Worker.StateDirectory } : {}),
  });
  const log = logger.child({ workerId: identity.id });
  let stopRequested: NodeJS.Signals | undefined;
  const early = (s: NodeJS.Signals) => {
    stopRequested = s;
  };
  process.on('SIGTERM', early).on('SIGINT', early);

  let database: Database | undefined;
  try {
    database = await connectWithRetry(
      config,
      log,
      o.serverSelectionTimeoutMs ?? 2_000,
      () => stopRequested !== undefined,
    );
  } finally {
    process.off('SIGTERM', early).off('SIGINT', early);
  }
  if (!database) {
    identity.release();
    throw new Error(`stopped by ${stopRequested} before the database could be reached`);
  }

  const policy = createStorePolicy(log, o.resilience);
  const store = createTaskStore(database.db, config);
  const registry = new WorkerRegistry(database.db);
  try {
    await policy.execute(async () => {
      await store.ensureIndexes();
      await registry.ensureIndexes();
    });
  } catch (e) {
    log.warn('could not declare indexes now (continuing; the next start tries again)', { error: e });
  }

  const deadLetters = taskDeadLettersFor(config, store, logger);
  const hooks = deadLetters ? deadLetters.workerHooks(o.hooks) : o.hooks;
  const worker = new Worker({
    store,
    registry,
    handlers: o.handlers,
    settings: config.Worker,
    identity,
    logger,
    policy,
    ...(hooks ? { hooks } : {}),
  });
  const removeHandlers = installShutdownHandlers(worker, { logger: log });
  let loop: ReclaimerLoop | undefined;
  if (o.reclaimer !== false) {
    loop = startReclaimerLoop({
      db: database.db,
      store,
      config,
      handlers: o.handlers,
      logger,
      by: worker.id,
      ...(deadLetters ? { deadLetters } : {}),
      ...(typeof o.reclaimer === 'object' && o.reclaimer.everyMs ? { everyMs: o.reclaimer.everyMs } : {}),
    });
  }
  worker.start();
  if (stopRequested) void worker.stop(stopRequested);
  try {
    await o.onStarted?.(worker, database);
    return await worker.done;
  } finally {
    removeHandlers();
    await loop?.stop();
    await deadLetters?.close();
    identity.release();
    await database.close().catch(() => undefined);
  }
}

async function connectWithRetry(
  config: AppConfig,
  log: Logger,
  serverSelectionTimeoutMS: number,
  stop: () => boolean,
): Promise<Database | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connectDatabase(config.MongoDB, { serverSelectionTimeoutMS, appName: 'taskmesh-worker' });
    } catch (e) {
      if (stop()) return undefined;
      const delay = Math.min(10_000, 250 * 2 ** Math.min(attempt, 6));
      log.warn('database not reachable yet; retrying', { attempt, delayMs: delay, error: errorMessage(e) });
      await sleep(delay);
      if (stop()) return undefined;
    }
  }
}
