import { MongoBulkWriteError, type Collection } from 'mongodb';
import type { NewTask, Task } from '../../../tasks/model.js';
import { JobTaskStatus as S, type JobTaskStatus } from '../../../tasks/status.js';
import { isValidPath } from '../../../tasks/transitions.js';
import { messageIdempotencyKey, newIdempotencyKey, taskIdFor } from '../../ids.js';
import type { IngestResult } from '../../types.js';

/** The seed's subscriber flow, recorded in the task's history by the single insert that stores it. */
const acceptedPath: readonly JobTaskStatus[] = [S.Created, S.Processing, S.Completed, S.Queued];
const rejectedPath: readonly JobTaskStatus[] = [S.Created, S.Processing, S.Failed];
if (!isValidPath(acceptedPath) || !isValidPath(rejectedPath)) throw new Error('ingest paths disagree with the transition table');

export interface IngestDefaults {
  maxRetries: number;
}

export function toTaskDocument(t: NewTask, now: Date, defaults: IngestDefaults, by?: string): Task {
  const idempotencyKey =
    t.idempotencyKey ?? (t.source?.messageId ? messageIdempotencyKey(t.source.provider, t.source.queue, t.source.messageId) : newIdempotencyKey());
  const path = t.failedReason ? rejectedPath : acceptedPath;
  const status = path[path.length - 1]!;
  return {
    _id: taskIdFor(idempotencyKey),
    type: t.type,
    payload: t.payload ?? null,
    priority: t.priority ?? 0,
    status,
    version: 1,
    ...(t.source ? { source: t.source } : {}),
    idempotencyKey,
    attempts: 0,
    maxRetries: t.maxRetries ?? defaults.maxRetries,
    nextAttemptAt: t.notBefore ?? now,
    owner: null,
    heartbeatAt: null,
    cancelRequested: false,
    ...(t.timeoutMs !== undefined ? { timeoutMs: t.timeoutMs } : {}),
    ...(t.traceparent ? { traceparent: t.traceparent } : {}),
    errors: [],
    history: path.map((to, i) => ({ from: i === 0 ? null : path[i - 1]!, to, at: now, ...(by ? { by } : {}), ...(to === S.Failed && t.failedReason ? { reason: t.failedReason } : {}) })),
    ...(t.failedReason ? { reason: t.failedReason, finishedAt: now } : {}),
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * One unordered bulk insert. The _id derives from the idempotency key, so a redelivered or concurrently
 * ingested message collides on _id (E11000) and is counted as a duplicate; other rows still go in.
 */
export async function ingest(col: Collection<Task>, tasks: readonly NewTask[], defaults: IngestDefaults, by?: string): Promise<IngestResult> {
  if (tasks.length === 0) return { inserted: 0, duplicates: 0, items: [] };
  const now = new Date();
  const docs = tasks.map((t) => toTaskDocument(t, now, defaults, by));
  const duplicate = new Set<number>();
  try {
    await col.insertMany(docs, { ordered: false });
  } catch (e) {
    if (!(e instanceof MongoBulkWriteError)) throw e;
    const raw: unknown = e.writeErrors;
    const errors = (Array.isArray(raw) ? raw : raw ? [raw] : []) as { code?: number; index: number }[];
    // A bulk error without write errors failed as a whole (the driver wraps e.g. "Topology is closed"): nothing was stored.
    if (errors.length === 0) throw e;
    const other = errors.filter((w) => w.code !== 11000);
    if (other.length > 0) throw e;
    for (const w of errors) duplicate.add(w.index);
  }
  return {
    inserted: docs.length - duplicate.size,
    duplicates: duplicate.size,
    items: docs.map((d, i) => ({ taskId: d._id, duplicate: duplicate.has(i) })),
  };
}
