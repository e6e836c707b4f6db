import type { Collection, Filter } from 'mongodb';
import type { Task } from '../../tasks/model.js';
import { JobTaskStatus as S, allStatuses, statusName } from '../../tasks/status.js';
import type { ListTasksFilter, ListTasksPage, TaskStats, TaskThroughput, ThroughputBucket } from '../task-store.js';
import { queries } from './queries.js';

// Read-only reports over the tasks collection (list paging, stats, throughput): they change nothing.

interface Cursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(t: Pick<Task, 'createdAt' | '_id'>): string {
  return Buffer.from(JSON.stringify([t.createdAt.getTime(), t._id])).toString('base64url');
}

export function decodeCursor(cursor: string): Cursor | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'string')
      return { createdAt: new Date(v[0]), id: v[1] };
  } catch {
    // fall through
  }
  return undefined;
}

/**
 * Newest first, keyset paging. The most selective filter picks the query (and so the index); the
 * other filters narrow the rows that index returns.
 */
export async function listTasks(
  col: Collection<Task>,
  f: ListTasksFilter,
  page: { limit?: number; cursor?: string | null } = {},
): Promise<ListTasksPage> {
  const limit = Math.min(Math.max(page.limit ?? 50, 1), 500);
  const after = page.cursor ? decodeCursor(page.cursor) : undefined;
  let filter: Filter<Task>;
  if (f.workerId) filter = queries.listByWorker.filter(f.workerId, after, f.createdFrom, f.createdTo);
  else if (f.type) filter = queries.listByType.filter(f.type, after, f.createdFrom, f.createdTo);
  else if (f.status?.length) filter = queries.listByStatus.filter(f.status, after, f.createdFrom, f.createdTo);
  else filter = queries.listAll.filter(after, f.createdFrom, f.createdTo);
  const residual: Filter<Task> = {
    ...(f.workerId && f.type ? { type: f.type } : {}),
    ...((f.workerId || f.type) && f.status?.length ? { status: { $in: [...f.status] } } : {}),
  };
  const rows = await col
    .find({ ...filter, ...residual })
    .sort({ createdAt: -1, _id: -1 })
    .limit(limit + 1)
    .toArray();
  const tasks = rows.slice(0, limit);
  return { tasks, nextCursor: rows.length > limit ? encodeCursor(tasks[tasks.length - 1]!) : null };
}

/** Counts by status (one indexed count each, in parallel) and the oldest claimable task's age. */
export async function taskStats(col: Collection<Task>, now = new Date()): Promise<TaskStats> {
  const counts: Record<string, number> = {};
  const values = await Promise.all(allStatuses.map((s) => col.countDocuments(queries.countByStatus.filter(s))));
  allStatuses.forEach((s, i) => {
    counts[statusName(s)] = values[i]!;
  });
  const waiting = await col
    .aggregate<{ _id: string; n: number }>([
      { $match: queries.waiting.filter() },
      { $group: { _id: '$type', n: { $sum: 1 } } },
    ])
    .toArray();
  const oldest = await col
    .find(queries.oldestClaimable.filter(now), { projection: { nextAttemptAt: 1 } })
    .sort(queries.oldestClaimable.sort!)
    .limit(1)
    .next();
  return {
    counts,
    total: values.reduce((a, b) => a + b, 0),
    oldestClaimableAgeMs: oldest ? Math.max(0, now.getTime() - oldest.nextAttemptAt.getTime()) : null,
    waitingByType: Object.fromEntries(waiting.map((w) => [w._id, w.n])),
    at: now,
  };
}

export const THROUGHPUT_BUCKET_MS = 60_000;

interface Row {
  _id: { m: number; s: number };
  n: number;
  retried: number;
}

type Outcome = 'succeeded' | 'failed' | 'cancelled';
const outcomeOf = (status: number): Outcome | undefined =>
  status === S.Succeeded
    ? 'succeeded'
    : status === S.Cancelled
      ? 'cancelled'
      : status === S.Error || status === S.Timeout || status === S.Failed
        ? 'failed'
        : undefined;

/**
 * Finished tasks per minute since `now - sinceMs`. The database groups by (minute, status), so the
 * answer is at most minutes x statuses rows whatever the volume; the index status_finished serves the match.
 */
export async function taskThroughput(
  col: Collection<Task>,
  sinceMs: number,
  now = new Date(),
): Promise<TaskThroughput> {
  const bucketMs = THROUGHPUT_BUCKET_MS;
  const firstBucket = Math.floor((now.getTime() - sinceMs) / bucketMs);
  const lastBucket = Math.floor(now.getTime() / bucketMs);
  const since = new Date(firstBucket * bucketMs);
  const rows = await col
    .aggregate<Row>([
      { $match: queries.finishedSince.filter(since) },
      {
        $group: {
          // Minutes since the epoch: date minus date is milliseconds.
          _id: { m: { $floor: { $divide: [{ $subtract: ['$finishedAt', new Date(0)] }, bucketMs] } }, s: '$status' },
          n: { $sum: 1 },
          retried: { $sum: { $cond: [{ $gt: ['$attempts', 1] }, 1, 0] } },
        },
      },
    ])
    .toArray();
  const buckets: ThroughputBucket[] = [];
  for (let m = firstBucket; m <= lastBucket; m++)
    buckets.push({ at: new Date(m * bucketMs), succeeded: 0, failed: 0, cancelled: 0, retried: 0 });
  const totals = { succeeded: 0, failed: 0, cancelled: 0, retried: 0 };
  for (const r of rows) {
    const outcome = outcomeOf(r._id.s);
    const bucket = buckets[r._id.m - firstBucket];
    if (!outcome || !bucket) continue;
    bucket[outcome] += r.n;
    bucket.retried += r.retried;
    totals[outcome] += r.n;
    totals.retried += r.retried;
  }
  return { since, until: now, bucketMs, buckets, totals };
}
