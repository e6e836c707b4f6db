import type { Collection } from 'mongodb';
import type { Task } from '../../../tasks/model.js';
import { JobTaskStatus as S, claimableStatuses } from '../../../tasks/status.js';
import { transitionFrom } from '../../../tasks/transitions.js';
import { newLeaseToken } from '../../ids.js';
import type { ClaimedTask, ClaimOptions } from '../../types.js';
import { queries } from '../queries.js';
import { stateChange } from '../update.js';

transitionFrom(claimableStatuses, S.Assigned);

function claimUpdate(workerId: string, leaseToken: string, now: Date) {
  return stateChange(S.Assigned, {
    now,
    by: workerId,
    set: { owner: { workerId, leaseToken, acquiredAt: now }, heartbeatAt: now, cancelRequested: false },
    inc: { attempts: 1 },
  });
}

const toClaimed = (task: Task): ClaimedTask => ({
  task,
  lease: { taskId: task._id, leaseToken: task.owner!.leaseToken, workerId: task.owner!.workerId, attempt: task.attempts },
});

/** One task, one round trip: the seed's atomic FindAndModify. */
export async function claimOne(col: Collection<Task>, workerId: string, opts: ClaimOptions): Promise<ClaimedTask[]> {
  const now = opts.now ?? new Date();
  const task = await col.findOneAndUpdate(queries.claimable.filter(now, opts.types), claimUpdate(workerId, newLeaseToken(), now), {
    sort: queries.claimable.sort,
    returnDocument: 'after',
  });
  return task ? [toClaimed(task)] : [];
}

const MAX_ROUNDS = 3;

/**
 * Up to `limit` tasks in three round trips per round: read candidate ids in claim order, claim those
 * still claimable in one conditional updateMany under a fresh token, read back what the token won.
 * The per-document condition makes the update atomic per task, so no task goes to two workers.
 * When other workers took some candidates, another round (at most MAX_ROUNDS) tries fresh ones.
 */
export async function claimBatch(col: Collection<Task>, workerId: string, opts: ClaimOptions & { limit: number }): Promise<ClaimedTask[]> {
  const won: Task[] = [];
  for (let round = 0; round < MAX_ROUNDS && won.length < opts.limit; round++) {
    const now = opts.now ?? new Date();
    const want = opts.limit - won.length;
    const candidates = await col
      .find(queries.claimable.filter(now, opts.types), { projection: { _id: 1 } })
      .sort(queries.claimable.sort!)
      .limit(want)
      .toArray();
    if (candidates.length === 0) break;
    const leaseToken = newLeaseToken();
    const res = await col.updateMany(queries.claimCandidates.filter(candidates.map((c) => c._id), now), claimUpdate(workerId, leaseToken, now));
    if (res.modifiedCount > 0) won.push(...(await col.find(queries.byLeaseToken.filter(leaseToken)).toArray()));
    // Everything we saw was ours: nobody raced us, so there is nothing more to gain from another round.
    if (res.modifiedCount === candidates.length) break;
  }
  won.sort((a, b) => b.priority - a.priority || a.createdAt.getTime() - b.createdAt.getTime());
  return won.map(toClaimed);
}
