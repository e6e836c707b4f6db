import type { TaskTypeRule } from '../handlers/known-types.js';
import type { Logger } from '../log/logger.js';
import type { OutgoingMessage, QueueProvider } from '../queues/provider.js';
import type { TaskStore } from '../store/task-store.js';
import type { Task } from '../tasks/model.js';
import type { TaskReplayResult } from '../dead-letters/replay.js';
import type { WorkerListing } from '../worker-registry/registry.js';

/** A platform-neutral HTTP request, as each host adapter (node:http, Azure Functions, Function Compute) builds it. */
export interface AdminRequest {
  method: string;
  /** The path after the API prefix, e.g. "/tasks/abc/cancel" for "/api/tasks/abc/cancel". */
  path: string;
  query: Record<string, string | readonly string[] | undefined>;
  /** Header names in any case. */
  headers: Record<string, string | readonly string[] | undefined>;
  body: string | undefined;
}

export interface AdminResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface ReclaimerStatus {
  lastRunAt: Date;
  /** What the last pass did (e.g. a ReclaimResult); shown as JSON. */
  summary: unknown;
}

/** What the admin API does with task dead letters (lib/dead-letters). */
export interface TaskDeadLetterOps {
  /** DeadLetter:Queue. */
  queueName: string;
  list(limit: number): Promise<Task[]>;
  /** Replays into new runs through the ingest queue. */
  replay(max: number): Promise<TaskReplayResult>;
}

/** What the admin API works on. Each host builds one from its configuration. */
export interface AdminContext {
  store: TaskStore;
  /** The worker registry's listing (lib/worker-registry). */
  workers: WorkerListing;
  /** Every queue provider this deployment reads (may be empty). */
  queues: readonly QueueProvider[];
  /** The reclaimer's last pass, when this host runs one. */
  reclaimerStatus?: () => Promise<ReclaimerStatus | null>;
  /** Sends a message to the ingest queue (POST /api/messages); the local runtime provides it. */
  enqueue?: (message: OutgoingMessage) => Promise<{ messageId: string }>;
  /** Task dead letters (DeadLetter:Queue), when configured: listed and replayed into new runs. */
  taskDeadLetters?: TaskDeadLetterOps;
  /** Which task types POST /tasks and POST /messages accept (unset: any); GET /task-types lists them. */
  taskTypes?: TaskTypeRule;
  /** Admin:ApiKey. Required unless the router is told the platform authenticates. Never echoed or logged. */
  apiKey?: string;
  /** Database round trip for /health (default: a point read through the store). */
  ping?: () => Promise<void>;
  now?: () => Date;
  logger?: Logger;
}

export interface AdminRouterOptions {
  /**
   * "key" (default): the router checks the key (x-functions-key header or ?code=) itself: Function
   * Compute and the local runtime. "platform": the host already did (Azure Functions with authLevel
   * 'function' checks function keys before the handler runs), so the router skips its own check.
   */
  auth?: 'key' | 'platform';
  /** The prefix the host mounts the router under, used in links and problem `instance` (default "/api"). */
  basePath?: string;
  /** A worker whose heartbeat is older than this is shown as stale (default 5 minutes, Worker:HeartbeatTimeout). */
  workerStaleAfterMs?: number;
  /** When set, /health is unhealthy if the reclaimer has not run for this long. */
  reclaimerStaleAfterMs?: number;
  /** Per dependency in /health and /queues (default 5 s). */
  dependencyTimeoutMs?: number;
  /** Largest request body accepted (default 1 MiB). */
  maxBodyBytes?: number;
  /** Largest task accepted by POST /tasks, the limit a queue message has (default 64 KiB, Ingest:MaxBodyBytes). */
  maxTaskBytes?: number;
}
