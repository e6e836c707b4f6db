import type { Task, TaskError, TaskHistoryEntry } from '../tasks/model.js';
import { statusName } from '../tasks/status.js';
import type { WorkerRecord } from '../worker-registry/model.js';

/** JSON shapes of the admin API. Status numbers travel with their names so neither side needs the table. */

export interface TaskSummaryView {
  id: string;
  type: string;
  status: number;
  statusName: string;
  priority: number;
  attempts: number;
  maxRetries: number;
  version: number;
  workerId: string | null;
  cancelRequested: boolean;
  source: Task['source'] | null;
  lastError: string | null;
  reason: string | null;
  createdAt: Date;
  updatedAt: Date;
  nextAttemptAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  heartbeatAt: Date | null;
  /** Tasks of one ordering key run one at a time, in ingest order (orderingSeq); held: waiting for its turn. */
  orderingKey: string | null;
  orderingSeq: number | null;
  held: boolean;
}

export type TaskErrorView = TaskError;

export interface TaskHistoryView extends TaskHistoryEntry {
  fromName: string | null;
  toName: string;
}

export interface TaskDetailView extends TaskSummaryView {
  idempotencyKey: string;
  payload: unknown;
  result: unknown;
  progress: unknown;
  timeoutMs: number | null;
  traceparent: string | null;
  owner: { workerId: string; acquiredAt: Date } | null;
  errors: TaskErrorView[];
  history: TaskHistoryView[];
}

export function taskSummary(t: Task): TaskSummaryView {
  return {
    id: t._id,
    type: t.type,
    status: t.status,
    statusName: statusName(t.status),
    priority: t.priority,
    attempts: t.attempts,
    maxRetries: t.maxRetries,
    version: t.version,
    workerId: t.owner?.workerId ?? null,
    cancelRequested: t.cancelRequested,
    source: t.source ?? null,
    lastError: t.errors.length ? t.errors[t.errors.length - 1]!.message : null,
    reason: t.reason ?? null,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
    nextAttemptAt: t.nextAttemptAt,
    startedAt: t.startedAt ?? null,
    finishedAt: t.finishedAt ?? null,
    heartbeatAt: t.heartbeatAt,
    orderingKey: t.orderingKey ?? null,
    orderingSeq: t.orderingSeq ?? null,
    held: t.held === true,
  };
}

export function taskDetail(t: Task): TaskDetailView {
  return {
    ...taskSummary(t),
    idempotencyKey: t.idempotencyKey,
    payload: t.payload ?? null,
    result: t.result ?? null,
    progress: t.progress ?? null,
    timeoutMs: t.timeoutMs ?? null,
    traceparent: t.traceparent ?? null,
    // The lease token is a fencing secret of the worker: never shown.
    owner: t.owner ? { workerId: t.owner.workerId, acquiredAt: t.owner.acquiredAt } : null,
    errors: t.errors.map((e) => ({ ...e })),
    history: t.history.map((h) => ({
      ...h,
      fromName: h.from === null ? null : statusName(h.from),
      toName: statusName(h.to),
    })),
  };
}

export interface WorkerView {
  id: string;
  state: WorkerRecord['state'];
  /** Heartbeat older than the stale limit while not stopped/dead: the reclaimer will mark it dead. */
  stale: boolean;
  host: WorkerRecord['host'];
  types: string[];
  concurrency: number;
  currentTaskIds: string[];
  currentTasks: number;
  processed: number | null;
  startedAt: Date;
  lastHeartbeatAt: Date;
  heartbeatAgeMs: number;
  stoppedAt: Date | null;
}

export function workerView(w: WorkerRecord, now: Date, staleAfterMs: number): WorkerView {
  const heartbeatAgeMs = Math.max(0, now.getTime() - new Date(w.lastHeartbeatAt).getTime());
  return {
    id: w._id,
    state: w.state,
    stale: heartbeatAgeMs > staleAfterMs && w.state !== 'stopped' && w.state !== 'dead',
    host: w.host,
    types: w.types ?? [],
    concurrency: w.concurrency,
    currentTaskIds: w.currentTaskIds ?? [],
    currentTasks: (w.currentTaskIds ?? []).length,
    processed: w.processed ?? null,
    startedAt: w.startedAt,
    lastHeartbeatAt: w.lastHeartbeatAt,
    heartbeatAgeMs,
    stoppedAt: w.stoppedAt ?? null,
  };
}
