/**
 * What each trigger does, platform-free. functions/azure, functions/aliyun and the local runtime only
 * translate their trigger's input into one of these calls.
 */
import { createIngestPipeline } from '../ingest/index.js';
import type { IngestPipeline, PushedMessage, PushResult, PullUntilResult } from '../ingest/index.js';
import type { Logger } from '../log/logger.js';
import { abandonPushed, settlePushed, type PushSettlement, type PushSettler } from '../ingest/push.js';
import type { QueueProvider } from '../queues/provider.js';
import { runReclaimer } from '../reclaimer/reclaimer.js';
import type { ReclaimerSummary } from '../reclaimer/summary.js';
import { getReclaimerState } from '../reclaimer/state.js';
import { runWorkerInvocation } from '../worker/invocation.js';
import { resolveWorkerIdentity, type WorkerIdentity } from '../worker/identity.js';
import type { WorkerSummary } from '../worker/worker-options.js';
import { createAdminRouter, type AdminRouter } from '../admin/router.js';
import type { AdminRouterOptions, AdminContext, TaskDeadLetterOps } from '../admin/types.js';
import type { TaskDeadLetters } from '../dead-letters/index.js';
import { createQueueProvider } from '../queues/factory.js';
import type { OutgoingMessage } from '../queues/provider.js';
import type { AppServices } from './services.js';
import { noDispatch, type Dispatcher } from './dispatch.js';
import { logTaskBacklog } from '../telemetry/metrics.js';
import { errorMessage } from '../errors/message.js';

export interface InvocationInfo {
  /** The host's invocation id (logged with everything the invocation does). */
  invocationId: string;
  functionName: string;
  /** The platform's instance id, for the worker identity. */
  instanceId?: string;
}

/*
 * Stored tasks wake processors through the services' store (lib/wake/announcing-store.ts): in this
 * process, in long-running workers, and through the host's target on s.wake (the dispatch queue,
 * asynchronous invocations). The hosts pass no dispatcher here; `dispatch` stays for callers that want
 * one more wake-up per stored batch.
 */

/**
 * The ingest pipeline of every host and door (pushed batches, timer pulls, npm start, the subscriber),
 * composed here and nowhere else: one place decides which task types ingest accepts.
 */
export function ingestPipelineFor(
  s: AppServices,
  o: { provider?: QueueProvider; logger: Logger; dispatch?: Dispatcher },
): IngestPipeline {
  const dispatch = o.dispatch ?? noDispatch;
  return createIngestPipeline(s.config, {
    store: s.store,
    // Task types ingest accepts: the handlers' (and Ingest:KnownTaskTypes), one rule for every host.
    knownTaskTypes: s.taskTypes.acceptList(),
    logger: o.logger,
    onTasksStored: (n) => dispatch.wake(n),
    ...(o.provider ? { provider: o.provider } : {}),
  });
}

/** Messages a platform already received (Service Bus trigger). Invalid ones are recorded and reported; a store failure throws so the platform redelivers. */
export async function ingestPushedMessages(
  s: AppServices,
  messages: readonly PushedMessage[],
  source: { provider: string; queue: string },
  inv: InvocationInfo,
  dispatch: Dispatcher = noDispatch,
): Promise<PushResult> {
  const logger = s.logger.child({ invocationId: inv.invocationId, function: inv.functionName });
  const result = await ingestPipelineFor(s, { logger, dispatch }).ingestPushed(messages, source);
  logger.info('ingested pushed messages', {
    received: messages.length,
    stored: result.stored,
    duplicates: result.duplicates,
    rejected: result.rejected,
  });
  return result;
}

/**
 * Messages a platform received in peek-lock and leaves to the app to settle (Service Bus with the
 * settlement client): ingested, then the good ones completed and the refused ones dead-lettered with
 * their reason. A store failure abandons the whole batch (redelivered, deduplicated) and rethrows.
 */
export async function ingestAndSettlePushed(
  s: AppServices,
  messages: readonly PushedMessage[],
  source: { provider: string; queue: string },
  inv: InvocationInfo,
  settler: PushSettler,
  dispatch: Dispatcher = noDispatch,
): Promise<PushResult & { settlement: PushSettlement }> {
  const logger = s.logger.child({ invocationId: inv.invocationId, function: inv.functionName });
  let result: PushResult;
  try {
    result = await ingestPushedMessages(s, messages, source, inv, dispatch);
  } catch (e) {
    const settlement = await abandonPushed(messages, settler);
    logger.warn('ingest failed; the batch was abandoned for redelivery', { ...settlement });
    throw e;
  }
  const settlement = await settlePushed(messages, result, settler);
  if (settlement.failures.length > 0)
    logger.warn('some messages could not be settled; they come back when their lock expires', {
      failures: settlement.failures.slice(0, 10),
    });
  return { ...result, settlement };
}

/** Pulls the ingest queue until it is empty or the invocation's budget is spent. */
export async function pullIngest(
  s: AppServices,
  provider: QueueProvider,
  inv: InvocationInfo & { deadline: Date | number; signal?: AbortSignal },
  dispatch: Dispatcher = noDispatch,
): Promise<PullUntilResult> {
  const logger = s.logger.child({
    invocationId: inv.invocationId,
    function: inv.functionName,
    queue: provider.queueName,
  });
  const pipeline = ingestPipelineFor(s, { provider, logger, dispatch });
  const result = await pipeline.pullUntil({ deadline: inv.deadline, ...(inv.signal ? { signal: inv.signal } : {}) });
  logger.info('pulled ingest queue', { ...result });
  return result;
}

/** One processor invocation: claims and runs tasks until none is left or the deadline nears. */
export async function processInvocation(
  s: AppServices,
  inv: InvocationInfo & {
    deadline: Date | number;
    signal?: AbortSignal;
    /** A host that runs many invocations as one worker (the local runtime). */ identity?: WorkerIdentity;
    /** Stay idle this long, listening for wake-ups, before returning (a host that runs one invocation at a time). */
    idleLingerMs?: number;
  },
): Promise<WorkerSummary> {
  const logger = s.logger.child({ invocationId: inv.invocationId, function: inv.functionName });
  const identity =
    inv.identity ?? resolveWorkerIdentity({ ...(inv.instanceId ? { platformInstanceId: inv.instanceId } : {}) });
  const summary = await runWorkerInvocation({
    store: s.store,
    handlers: s.handlers,
    settings: s.config.Worker,
    registry: s.registry,
    identity,
    logger,
    // Woken at once by tasks that become claimable (lib/wake), in this process or elsewhere.
    wake: s.wake,
    ...(inv.idleLingerMs ? { idleLingerMs: inv.idleLingerMs } : {}),
    deadline: inv.deadline,
    ...(inv.signal ? { signal: inv.signal } : {}),
    ...(s.deadLetters ? { hooks: s.deadLetters.workerHooks() } : {}),
  });
  logger.info('processor invocation done', { ...summary });
  return summary;
}

/**
 * One reclaimer pass. It also logs the task backlog (the oldest runnable task's age): every host runs
 * this timer, and on hosts whose metrics reach no backend (Function Compute) the log line is what the
 * backlog alert and dashboard read.
 */
export async function reclaimInvocation(s: AppServices, inv: InvocationInfo): Promise<ReclaimerSummary> {
  const logger = s.logger.child({ invocationId: inv.invocationId, function: inv.functionName });
  const summary = await runReclaimer({
    db: s.database.db,
    store: s.store,
    config: s.config,
    handlers: s.handlers,
    logger,
    by: `${inv.functionName}:${inv.invocationId}`,
    ...(s.deadLetters ? { deadLetters: s.deadLetters } : {}),
  });
  logger.info('reclaimer pass done', {
    ...summary,
    tasks: { ...summary.tasks, taskIds: summary.tasks.taskIds.length },
  });
  try {
    logTaskBacklog(logger, await s.store.stats());
  } catch (e) {
    logger.warn('task backlog not read', { error: errorMessage(e) });
  }
  return summary;
}

/** Task dead letters for the admin API: replays go to the ingest queue (a provider opened for the replay). */
function taskDeadLetterOps(s: AppServices, dl: TaskDeadLetters): TaskDeadLetterOps {
  return {
    queueName: dl.queueName,
    list: (limit) => dl.list(limit),
    replay: async (max) => {
      const ingest = await createQueueProvider(s.config, { logger: s.logger });
      try {
        return await dl.replay(max, ingest);
      } finally {
        await ingest.close();
      }
    },
  };
}

/** The admin API over this deployment's store, workers, queues and reclaimer state. */
export function adminRouterFor(
  s: AppServices,
  opts: {
    queues?: readonly QueueProvider[];
    enqueue?: (m: OutgoingMessage) => Promise<{ messageId: string }>;
    router?: AdminRouterOptions;
  } = {},
): AdminRouter {
  const ctx: AdminContext = {
    store: s.store,
    workers: s.registry,
    queues: opts.queues ?? [],
    reclaimerStatus: async () => {
      const st = await getReclaimerState(s.database.db);
      return st ? { lastRunAt: st.lastRun.finishedAt, summary: { ...st.lastRun, runs: st.runs } } : null;
    },
    ...(opts.enqueue ? { enqueue: opts.enqueue } : {}),
    ...(s.deadLetters ? { taskDeadLetters: taskDeadLetterOps(s, s.deadLetters) } : {}),
    taskTypes: s.taskTypes,
    ...(s.config.Admin.ApiKey ? { apiKey: s.config.Admin.ApiKey } : {}),
    ping: async () => {
      await s.database.db.command({ ping: 1 });
    },
    logger: s.logger.child({ component: 'admin' }),
  };
  return createAdminRouter(ctx, {
    workerStaleAfterMs: s.config.Worker.HeartbeatTimeout,
    maxTaskBytes: s.config.Ingest.MaxBodyBytes,
    ...opts.router,
  });
}
