/// <reference lib="dom" />
/**
 * Types shared by the dashboard's browser code and the page that embeds it. Types only: the browser
 * code is embedded by its source, so nothing here may exist at run time.
 */
import type { TaskDetailView, TaskSummaryView, WorkerView } from '../../views.js';

/** What the page passes in as data: the status table comes from JobTaskStatus, never from the client's source. */
export interface ClientConfig {
  /** Every status, in JobTaskStatus's order. */
  statuses: readonly { name: string; value: number }[];
  /** The statuses shown as count cards, in order. */
  cards: readonly string[];
  /** Statuses a cancel applies to (at once while waiting, by request while leased). */
  cancellable: readonly number[];
  /** Statuses an operator may send back for another attempt. */
  retryable: readonly number[];
  /** The sessionStorage key that holds the admin key for this tab. */
  storageKey: string;
  pollMs: number;
}

/** A JSON value as the browser receives it: dates arrive as ISO strings. */
export type Wire<T> = T extends Date
  ? string
  : T extends readonly (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

export type TaskSummary = Wire<TaskSummaryView>;
export type TaskDetail = Wire<TaskDetailView>;
export type WorkerItem = Wire<WorkerView>;

/** POST /queues/{name}/dead-letters/replay, the parts the dashboard reads. */
export interface Replay {
  replayed: number;
  failed: number;
}

export interface TaskPage {
  items: TaskSummary[];
  nextCursor: string | null;
}

export interface CancelAnswer {
  outcome: 'cancelled' | 'requested' | 'already-finished' | 'not-found';
}

interface Check {
  ok: boolean;
  latencyMs?: number;
  error?: string;
}

/** GET /health (also the body of its 503). */
export interface Health {
  status: 'healthy' | 'unhealthy';
  checks: {
    database: Check;
    queues: (Check & { provider: string; queue: string })[];
    reclaimer: { ok: boolean; configured: boolean; lastRunAt?: string | null; error?: string };
  };
}

interface Outcomes {
  succeeded: number;
  failed: number;
  cancelled: number;
  retried: number;
}

/** GET /stats, the parts the dashboard reads. */
export interface Stats {
  total: number;
  counts: Record<string, number>;
  oldestClaimableAgeMs: number | null;
  waitingWithoutWorker?: { type: string; count: number }[];
  throughput: {
    since: string;
    until: string;
    buckets: (Outcomes & { at: string })[];
    totals: Outcomes;
    perMinute: { succeeded: number; failed: number };
  };
  rates: { failureRate: number | null; retryRate: number | null };
  /** Ordering keys a task that failed for good blocks (Ordering:OnFailure=block); absent from older servers. */
  blockedOrderingKeys?: OrderingKeyItem[];
}

/** GET /ordering-keys, one item. */
export interface OrderingKeyItem {
  key: string;
  activeTaskId: string | null;
  blocked: boolean;
  seq: number;
  updatedAt: string;
}

/** GET /queues, one item. */
export interface QueueItem {
  provider: string;
  queue: string;
  reachable: boolean;
  depth: number | null;
  deadLetterDepth: number | null;
  oldestMessageAgeMs: number | null;
  error?: string;
}

/** An answer of the admin API: the parsed body when it succeeded; otherwise whatever came (a problem, or null). */
export type ApiResult<T> = { ok: true; status: number; data: T } | { ok: false; status: number; data: unknown };

export interface DashboardState {
  /** Page cursors: [0] is the first page (null), [n] the cursor that opened page n. */
  cursors: (string | null)[];
  page: number;
  nextCursor: string | null;
  selected: string | null;
  detail: TaskDetail | null;
  paused: boolean;
  busy: boolean;
  lastOk: number;
  failing: boolean;
  /** Armed destructive buttons: key -> until when (ms). */
  confirm: Record<string, number>;
  filters: { status: string; type: string; worker: string };
}
