import type { Collection } from 'mongodb';
import type { Task } from '../../../tasks/model.js';
import { allStatuses, statusName } from '../../../tasks/status.js';
import type { TaskStats } from '../../types.js';
import { queries } from '../queries.js';

/** Counts by status (one indexed count each, in parallel) and the oldest claimable task's age. */
export async function stats(col: Collection<Task>, now = new Date()): Promise<TaskStats> {
  const counts: Record<string, number> = {};
  const values = await Promise.all(allStatuses.map((s) => col.countDocuments(queries.countByStatus.filter(s))));
  allStatuses.forEach((s, i) => { counts[statusName(s)] = values[i]!; });
  const oldest = await col.find(queries.oldestClaimable.filter(now), { projection: { nextAttemptAt: 1 } }).sort(queries.oldestClaimable.sort!).limit(1).next();
  return {
    counts,
    total: values.reduce((a, b) => a + b, 0),
    oldestClaimableAgeMs: oldest ? Math.max(0, now.getTime() - oldest.nextAttemptAt.getTime()) : null,
    at: now,
  };
}
