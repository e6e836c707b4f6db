import type { StorePolicy } from '../db/resilience.js';
import type { Logger } from '../log/logger.js';
import type { ClaimedTask, TaskStore } from '../store/task-store.js';
import { JobTaskStatus as S } from '../tasks/status.js';
import { runKey } from './task-slots.js';

export interface ClaimerOptions {
  store: TaskStore;
  policy: StorePolicy;
  workerId: string;
  logger: Logger;
}

/**
 * A worker's claims, through the resilience policy. If a try failed after possibly applying (its reply
 * lost), tasks may be Assigned to the worker under a token it never saw; the next claim then looks for
 * such orphans by worker id and adopts them.
 */
export class Claimer {
  /** Tasks claimed (and adopted) so far. */
  count = 0;
  private orphanCheckDue = true;

  constructor(private readonly o: ClaimerOptions) {}

  /** One claim of up to `limit` tasks (of `types`; undefined: any type). `known`: the runs held, by run key. */
  async claim(limit: number, types: string[] | undefined, known: () => Iterable<string>): Promise<ClaimedTask[]> {
    let tries = 0;
    let claimed: ClaimedTask[];
    try {
      claimed = await this.o.policy.execute(() => {
        tries++;
        return this.o.store.claim(this.o.workerId, { limit, ...(types ? { types } : {}) });
      });
    } catch (e) {
      if (tries > 0) this.orphanCheckDue = true;
      throw e;
    }
    if (tries > 1) this.orphanCheckDue = true;
    if (this.orphanCheckDue) {
      try {
        claimed = [...claimed, ...(await this.adoptOrphans(claimed, known()))];
        this.orphanCheckDue = false;
      } catch (e) {
        // What was claimed is still ours to run; the orphan check waits for the next claim.
        this.o.logger.warn('could not check for orphaned claims (will retry)', { error: e });
      }
    }
    this.count += claimed.length;
    if (claimed.length)
      this.o.logger.debug('claimed', { count: claimed.length, taskIds: claimed.map((c) => c.task._id) });
    return claimed;
  }

  /**
   * Tasks Assigned to this worker id that it does not know: a claim whose reply was lost, or an earlier
   * run of this (persisted) id.
   */
  private async adoptOrphans(justClaimed: readonly ClaimedTask[], held: Iterable<string>): Promise<ClaimedTask[]> {
    const id = this.o.workerId;
    const known = new Set([...held, ...justClaimed.map((c) => runKey(c.lease))]);
    const page = await this.o.policy.execute(() =>
      this.o.store.list({ workerId: id, status: [S.Assigned] }, { limit: 500 }),
    );
    const orphans = page.tasks
      .filter((t) => t.owner?.workerId === id)
      .map((t): ClaimedTask => ({
        task: t,
        lease: {
          taskId: t._id,
          leaseToken: t.owner!.leaseToken,
          workerId: id,
          attempt: t.attempts,
          ...(t.orderingKey ? { orderingKey: t.orderingKey } : {}),
        },
      }))
      .filter((c) => !known.has(runKey(c.lease)));
    if (orphans.length)
      this.o.logger.info('adopted tasks assigned to this worker id but unknown to it', {
        taskIds: orphans.map((t) => t.task._id),
      });
    return orphans;
  }
}
