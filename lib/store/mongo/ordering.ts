import type { Collection, Db } from 'mongodb';
import type { NewTask, Task } from '../../tasks/model.js';
import { JobTaskStatus as S, claimableStatuses, type JobTaskStatus } from '../../tasks/status.js';
import { OrderingConflictError } from '../errors.js';
import type { OrderingFailurePolicy, OrderingKeyState, ReclaimResult, UnblockOutcome } from '../task-store.js';
import {
  orderingKeyIndexes,
  orderingKeyQueries as keyQueries,
  orderingKeysCollection,
  orderingKeyWrites as keyWrites,
  type OrderingKeyDoc,
} from './ordering-statements.js';
import { queries } from './queries.js';
import { writes } from './writes.js';

/** Rounds of one hand-over; a round is lost only to a writer that changed the key, so this is generous. */
const MAX_ROUNDS = 100;
/** States after which a task of a key never runs again on its own: its key's turn passes on. */
const done: readonly JobTaskStatus[] = [S.Succeeded, S.Failed, S.Error, S.Cancelled, S.Timeout, S.Archived, S.Deleted];
const claimable: readonly JobTaskStatus[] = claimableStatuses;

const isDuplicateKey = (e: unknown) => (e as { code?: unknown }).code === 11000;

/**
 * Ordered execution per key. Each task of a key gets a sequence number at ingest and is stored held
 * (never due), except the key's head: the one task the key document names `active`. When the head
 * finishes, its finisher hands the turn to the held task with the lowest sequence number and makes it
 * due. Every hand-over is a compare-and-set on the key document's version, and ingest bumps the version
 * after inserting, so a finisher that scanned before a racing insert loses and scans again: no key is
 * ever left idle with a task waiting, and no key ever has two heads. Retries keep the turn.
 */
export class KeyOrder {
  readonly keys: Collection<OrderingKeyDoc>;

  constructor(
    db: Db,
    private readonly tasks: Collection<Task>,
    private readonly onFailure: OrderingFailurePolicy,
    /** The store's clock (the database server's time): a promoted task is due by the clock the claim compares with. */
    private readonly clock: { now(): Date } = { now: () => new Date() },
  ) {
    this.keys = orderingKeysCollection(db);
  }

  async ensureIndexes(): Promise<void> {
    await this.keys.createIndexes(orderingKeyIndexes.map((i) => ({ key: i.key, name: i.name })));
  }

  /** Sequence numbers for a batch (one $inc per key), aligned with `tasks`; undefined for unordered or refused ones. */
  async reserve(tasks: readonly NewTask[]): Promise<(number | undefined)[]> {
    const ordered = (t: NewTask) => (t.orderingKey && !t.failedReason ? t.orderingKey : undefined);
    const counts = new Map<string, number>();
    for (const t of tasks) {
      const key = ordered(t);
      if (key) counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    if (counts.size === 0) return tasks.map(() => undefined);
    const next = new Map<string, number>();
    await Promise.all(
      [...counts].map(async ([key, n]) => {
        const last = await this.take(key, n);
        next.set(key, last - n + 1);
      }),
    );
    return tasks.map((t) => {
      const key = ordered(t);
      if (!key) return undefined;
      const seq = next.get(key)!;
      next.set(key, seq + 1);
      return seq;
    });
  }

  /** After the insert (also for duplicates: a crash before this point is mended by the redelivery). */
  async admitted(keys: Iterable<string>): Promise<void> {
    await Promise.all(
      [...new Set(keys)].map(async (key) => {
        const options = { returnDocument: 'after' } as const;
        const doc = await this.keys.findOneAndUpdate(
          keyWrites.bump.filter(key),
          keyWrites.bump.update(this.clock.now()),
          options,
        );
        if (doc && doc.active === null) await this.advance(key, null, { doc });
      }),
    );
  }

  /** A task reached `status`: if it was its key's head and will not run again, the turn passes (or the key blocks). */
  async finished(key: string | undefined, taskId: string, status: JobTaskStatus | undefined): Promise<void> {
    if (!key || status === undefined || !done.includes(status)) return;
    const blocking = this.onFailure === 'block' && (status === S.Error || status === S.Timeout);
    await this.advance(key, taskId, { blocking });
  }

  /**
   * Before an operator's retry of a task of a key: undefined when the task is its key's head (a blocked
   * key's failed task, which runs again at once), else the sequence number it waits as.
   */
  async placeForRetry(task: Pick<Task, '_id' | 'orderingKey'>): Promise<number | undefined> {
    if (!task.orderingKey) return undefined;
    const doc = await this.keys.findOne(keyQueries.byKey.filter(task.orderingKey));
    return doc?.active === task._id ? undefined : this.take(task.orderingKey, 1);
  }

  /** After an operator's retry: a head that blocked its key unblocks it; a held task takes the turn if the key is idle. */
  async retried(task: Pick<Task, '_id' | 'orderingKey' | 'held'>): Promise<void> {
    if (!task.orderingKey) return;
    if (task.held) return this.admitted([task.orderingKey]);
    await this.keys.updateOne(
      keyWrites.resume.filter(task.orderingKey, task._id),
      keyWrites.resume.update(this.clock.now()),
    );
  }

  async list(filter: { blocked?: boolean; limit?: number } = {}): Promise<OrderingKeyState[]> {
    const q = filter.blocked ? keyQueries.blockedKeys : keyQueries.listKeys;
    const docs = await this.keys
      .find(filter.blocked ? keyQueries.blockedKeys.filter() : keyQueries.listKeys.filter())
      .sort(q.sort!)
      .limit(filter.limit ?? 100)
      .toArray();
    return docs.map(toState);
  }

  /** The blocked head is passed over: the next task of the key gets its turn. */
  async unblock(key: string): Promise<{ outcome: UnblockOutcome; state: OrderingKeyState | null }> {
    const doc = await this.keys.findOne(keyQueries.byKey.filter(key));
    if (!doc) return { outcome: 'not-found', state: null };
    if (!doc.blocked || doc.active === null) return { outcome: 'not-blocked', state: toState(doc) };
    await this.advance(key, doc.active, { doc, unblock: true });
    const after = await this.keys.findOne(keyQueries.byKey.filter(key));
    return { outcome: 'unblocked', state: after && toState(after) };
  }

  /**
   * Keys whose head finished but kept the turn: its finisher died between the task's write and the
   * hand-over. The reclaimer passes the turn on (the same hand-over, so it races nobody unsafely).
   */
  async repair(cutoff: Date, limit = 100): Promise<number> {
    const stale = await this.keys.find(keyQueries.staleHeads.filter(cutoff)).limit(limit).toArray();
    let repaired = 0;
    for (const doc of stale) {
      const head = await this.tasks.findOne(queries.byId.filter(doc.active!), { projection: { status: 1 } });
      if (head && !done.includes(head.status)) continue;
      await this.finished(doc._id, doc.active!, head?.status ?? S.Deleted);
      repaired++;
    }
    return repaired;
  }

  /**
   * After a reclaimer pass: a reclaimed head that retries keeps its key's turn, one that ended (timed out,
   * cancelled) passes it on; then keys whose finisher died before handing over (repair).
   */
  async reclaimed(result: ReclaimResult, now: Date, heartbeatTimeoutMs: number): Promise<void> {
    const cutoff = new Date(now.getTime() - heartbeatTimeoutMs);
    const projection = { status: 1, orderingKey: 1 };
    const ended = result.taskIds.length
      ? await this.tasks.find(queries.byIds.filter(result.taskIds), { projection }).toArray()
      : [];
    for (const t of ended) await this.finished(t.orderingKey, t._id, t.status);
    const repaired = await this.repair(cutoff);
    if (repaired > 0) result.orderingKeysRepaired = repaired;
  }

  /** The last of `count` new sequence numbers of a key. */
  private async take(key: string, count: number): Promise<number> {
    const { filter, update } = keyWrites.reserve;
    const options = { upsert: true, returnDocument: 'after' } as const;
    const once = () => this.keys.findOneAndUpdate(filter(key), update(count, this.clock.now()), options);
    // Two first uses of a key may both try to insert its document: the loser's retry updates it.
    const doc = await once().catch((e: unknown) => (isDuplicateKey(e) ? once() : Promise.reject(e)));
    return doc!.seq;
  }

  /**
   * Hands the key's turn from `from` (null: the key is idle) to its next held task, or blocks the key.
   * Does nothing when the key's head is not `from` (another writer already moved on, or `from` was never
   * the head). Reads again after every lost compare-and-set.
   */
  private async advance(
    key: string,
    from: string | null,
    o: { doc?: OrderingKeyDoc; blocking?: boolean; unblock?: boolean },
  ): Promise<void> {
    let doc = o.doc ?? null;
    // Only a write lost to another writer counts as a round; skipping cancelled held tasks does not.
    for (let lost = 0; lost < MAX_ROUNDS;) {
      doc ??= await this.keys.findOne(keyQueries.byKey.filter(key));
      if (!doc || doc.active !== from || (doc.blocked && !o.unblock)) return;
      const now = this.clock.now();
      if (from !== null && o.blocking) {
        const res = await this.keys.updateOne(
          keyWrites.block.filter(key, doc.version, from),
          keyWrites.block.update(now),
        );
        if (res.matchedCount === 1) return;
        doc = null;
        lost++;
        continue;
      }
      const next = await this.tasks.findOne(queries.nextHeld.filter(key), {
        sort: queries.nextHeld.sort,
        projection: { _id: 1, status: 1, notBefore: 1 },
      });
      if (next && !claimable.includes(next.status)) {
        // Cancelled while it waited: it leaves the key's queue; the key document did not change.
        await this.tasks.updateOne(writes.dropHold.filter(next._id), writes.dropHold.update(now));
        continue;
      }
      const handOver = keyWrites.handOver;
      const res = await this.keys.updateOne(
        handOver.filter(key, doc.version, from),
        handOver.update(next?._id ?? null, now),
      );
      doc = null;
      if (res.matchedCount !== 1) {
        lost++;
        continue;
      }
      if (!next) return;
      const due = next.notBefore && next.notBefore > now ? next.notBefore : now;
      const promoted = await this.tasks.updateOne(writes.promote.filter(next._id), writes.promote.update(due, now));
      if (promoted.matchedCount === 1) return;
      // It finished (was cancelled) between the scan and the hand-over: the turn passes on from it.
      from = next._id;
      o = { blocking: false };
    }
    throw new OrderingConflictError(key, from ?? undefined, MAX_ROUNDS);
  }
}

function toState(d: OrderingKeyDoc): OrderingKeyState {
  return { key: d._id, activeTaskId: d.active, blocked: d.blocked, seq: d.seq, updatedAt: d.updatedAt };
}
