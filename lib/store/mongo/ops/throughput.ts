import type { Collection } from 'mongodb';
import type { Task } from '../../../tasks/model.js';
import { JobTaskStatus as S } from '../../../tasks/status.js';
import type { TaskThroughput, ThroughputBucket } from '../../types.js';
import { queries } from '../queries.js';

export const THROUGHPUT_BUCKET_MS = 60_000;

interface Row {
  _id: { m: number; s: number };
  n: number;
  retried: number;
}

type Outcome = 'succeeded' | 'failed' | 'cancelled';
const outcomeOf = (status: number): Outcome | undefined =>
  status === S.Succeeded ? 'succeeded' : status === S.Cancelled ? 'cancelled' : status === S.Error || status === S.Timeout || status === S.Failed ? 'failed' : undefined;

/**
 * Finished tasks per minute since `now - sinceMs`. The database groups by (minute, status), so the
 * answer is at most minutes x statuses rows whatever the volume; the index status_finished serves the match.
 */
export async function throughput(col: Collection<Task>, sinceMs: number, now = new Date()): Promise<TaskThroughput> {
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
  for (let m = firstBucket; m <= lastBucket; m++) buckets.push({ at: new Date(m * bucketMs), succeeded: 0, failed: 0, cancelled: 0, retried: 0 });
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
