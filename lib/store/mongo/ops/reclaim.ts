import type { Collection } from 'mongodb';
import type { Task } from '../../../tasks/model.js';
import { JobTaskStatus as S, leasedStatuses } from '../../../tasks/status.js';
import { transitionFrom } from '../../../tasks/transitions.js';
import { backoffDelay, type BackoffOptions } from '../../backoff.js';
import type { ReclaimOptions, ReclaimResult } from '../../types.js';
import { queries } from '../queries.js';
import { stateChange } from '../update.js';

transitionFrom(leasedStatuses, S.Retrying);
transitionFrom(leasedStatuses, S.Timeout);

/**
 * Tasks whose owner stopped heartbeating lose their lease. Each write is conditional on the lease
 * token it saw and on the heartbeat still being stale, so a reclaimer racing another reclaimer (or an
 * owner whose heartbeat just arrived) changes nothing and counts a lost race.
 */
export async function reclaim(col: Collection<Task>, opts: ReclaimOptions & { backoff: BackoffOptions }): Promise<ReclaimResult> {
  const now = opts.now ?? new Date();
  const cutoff = new Date(now.getTime() - opts.heartbeatTimeoutMs);
  const stalled = await col
    .find(queries.stalled.filter(cutoff), { projection: { _id: 1, owner: 1, attempts: 1, maxRetries: 1, status: 1, heartbeatAt: 1 } })
    .limit(opts.limit ?? 1000)
    .toArray();
  const result: ReclaimResult = { found: stalled.length, retried: 0, timedOut: 0, lostRaces: 0, taskIds: [] };
  for (const t of stalled) {
    if (!t.owner) continue;
    const retry = t.attempts <= t.maxRetries;
    const to = retry ? S.Retrying : S.Timeout;
    const message = `lease expired: worker ${t.owner.workerId} sent no heartbeat since ${t.heartbeatAt?.toISOString() ?? 'never'} (timeout ${opts.heartbeatTimeoutMs} ms)`;
    const res = await col.updateOne(
      queries.stillStalled.filter(t._id, t.owner.leaseToken, cutoff),
      stateChange(to, {
        now,
        from: t.status,
        by: opts.by ?? 'reclaimer',
        reason: 'lease expired',
        error: { message, kind: 'LeaseExpired', workerId: t.owner.workerId, attempt: t.attempts, at: now },
        set: retry ? { owner: null, heartbeatAt: null, nextAttemptAt: new Date(now.getTime() + backoffDelay(t.attempts, opts.backoff)) } : { owner: null, heartbeatAt: null, finishedAt: now },
      }),
    );
    if (res.matchedCount !== 1) {
      result.lostRaces++;
      continue;
    }
    result.taskIds.push(t._id);
    if (retry) result.retried++;
    else result.timedOut++;
  }
  return result;
}
