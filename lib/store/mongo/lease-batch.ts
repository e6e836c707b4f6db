import type { Collection, Filter, UpdateFilter } from 'mongodb';
import type { Task } from '../../tasks/model.js';
import { WriteRefusedError } from '../errors.js';
import { newWriteId } from '../ids.js';
import type { Lease, LeaseWriteResult } from '../task-store.js';
import { queries } from './queries.js';
import type { ServerClock } from './server-clock.js';
import { TurnBatch, type Settled } from './turn-batch.js';
import { sharedAnswers, writtenBy } from './write-outcomes.js';

/** One caller's lease write: its lease, the id of its logical write (the same on every try), its own argument. */
export type LeaseWrite<A> = { lease: Lease; w: string; arg: A };
type Answer = Settled<LeaseWriteResult>;

/** A lease write's statement (start, complete): one task, guarded by the lease, stamped with the write id. */
export interface LeaseStatement<A> {
  filter(lease: Lease): Filter<Task>;
  update(lease: Pick<Lease, 'workerId'>, now: Date, w: string, arg: A): UpdateFilter<Task>;
}

/** The same write for several tasks of one token: the update depends only on the worker, the time, the write id and the argument. */
export interface SetWiseStatement<A> {
  filter(taskIds: readonly string[], leaseToken: string): Filter<Task>;
  update(lease: Pick<Lease, 'workerId'>, now: Date, w: string, arg: A): UpdateFilter<Task>;
}

/** Aliases kept at most (callers that gave up after a lost reply never come back to clear theirs). */
const MAX_ALIASES = 10_000;

/**
 * The write ids a caller's write was sent under besides its own: a set-wise write stamps one id for all its
 * callers. A caller whose try was lost (no reply, no read-back) tries again with its own id; its task may carry
 * the shared one, so the read after the retry accepts both.
 */
class WriteAliases {
  private readonly byWrite = new Map<string, string[]>();

  add(w: string, shared: string): void {
    this.byWrite.set(w, [...(this.byWrite.get(w) ?? []), shared]);
    if (this.byWrite.size > MAX_ALIASES) this.byWrite.delete(this.byWrite.keys().next().value!);
  }

  of(w: string): string[] {
    return [w, ...(this.byWrite.get(w) ?? [])];
  }

  forget(w: string): void {
    this.byWrite.delete(w);
  }
}

/**
 * The start() or result-less complete() calls of one event-loop turn (./turn-batch.ts). Callers that share a
 * lease token, a worker and an argument (a batch claim's tasks, started or finished together) go as one
 * updateMany: one statement for the set, as pg-boss completes jobs, rather than one updateOne each. The rest,
 * and any caller a set-wise write left undecided, go as one unordered bulk write of updateOnes. Each caller
 * gets its own answer; a write that did not match everything is settled by reading the tasks' write ids back.
 */
export class LeaseBatch<A> {
  private readonly turns: TurnBatch<LeaseWrite<A>, LeaseWriteResult>;
  private readonly aliases = new WriteAliases();

  constructor(
    private readonly tasks: Collection<Task>,
    private readonly clock: ServerClock,
    private readonly one: LeaseStatement<A>,
    private readonly many: SetWiseStatement<A>,
  ) {
    this.turns = new TurnBatch((items) => this.writeAll(items));
  }

  add(item: LeaseWrite<A>): Promise<LeaseWriteResult> {
    return this.turns.add(item);
  }

  private async writeAll(items: LeaseWrite<A>[]): Promise<Answer[]> {
    const now = this.clock.now();
    const answers: (Answer | undefined)[] = items.map(() => undefined);
    const rest: number[] = [];
    const sets = new Map<string, number[]>();
    const seen = new Set<string>();
    items.forEach((item, i) => {
      // A task twice in one turn (two holders of one token) goes one statement per caller: only one may own it.
      const task = `${item.lease.taskId}\u0000${item.lease.leaseToken}`;
      if (seen.has(task)) return void rest.push(i);
      seen.add(task);
      const key = JSON.stringify([item.lease.leaseToken, item.lease.workerId, item.arg ?? null]);
      sets.set(key, [...(sets.get(key) ?? []), i]);
    });
    await Promise.all(
      [...sets.values()].map(async (set) => {
        if (set.length === 1) return void rest.push(set[0]!);
        const outcomes = await this.writeSet(
          set.map((i) => items[i]!),
          now,
        );
        set.forEach((i, k) => {
          const a = outcomes[k]!;
          if (a === 'undecided') rest.push(i);
          else answers[i] = a;
        });
      }),
    );
    if (rest.length > 0) {
      // Only these callers share this write's fate: the set-wise ones already have their answers.
      const each = await this.writeEach(
        rest.map((i) => items[i]!),
        now,
      ).catch((error: unknown) => rest.map((): Answer => ({ ok: false, error })));
      rest.forEach((i, k) => (answers[i] = each[k]));
    }
    return answers.map((a) => a!);
  }

  /** One updateMany for callers of one token, worker and argument; 'undecided' where it failed before saying. */
  private async writeSet(set: LeaseWrite<A>[], now: Date): Promise<(Answer | 'undecided')[]> {
    const shared = newWriteId();
    for (const item of set) this.aliases.add(item.w, shared);
    const first = set[0]!;
    const ids = set.map((item) => item.lease.taskId);
    let failure: unknown;
    try {
      const filter = this.many.filter(ids, first.lease.leaseToken);
      const res = await this.tasks.updateMany(filter, this.many.update(first.lease, now, shared, first.arg));
      if (res.matchedCount === set.length) return set.map((item) => this.decided(item, true));
    } catch (e) {
      failure = e;
    }
    let read: Pick<Task, '_id' | 'history'>[];
    try {
      read = await this.tasks.find(queries.byIds.filter(ids), { projection: { 'history.w': 1 } }).toArray();
    } catch (e) {
      // Nothing is known: every caller tries again with its own write id, which the aliases tie to this one.
      return set.map(() => ({ ok: false, error: failure ?? e }));
    }
    const byId = new Map(read.map((t) => [t._id, t]));
    return set.map((item) => {
      const owned = writtenBy(byId.get(item.lease.taskId), this.aliases.of(item.w));
      // The updateMany answered: a task it did not match was not this caller's. It threw: try the caller alone.
      return owned || failure === undefined ? this.decided(item, owned) : 'undecided';
    });
  }

  /** One unordered bulk write of one updateOne per caller; a refused statement fails its own caller only. */
  private async writeEach(items: LeaseWrite<A>[], now: Date): Promise<Answer[]> {
    const ops = items.map(({ lease, w, arg }) => ({
      updateOne: { filter: this.one.filter(lease), update: this.one.update(lease, now, w, arg) },
    }));
    let failure: unknown;
    try {
      const res = await this.tasks.bulkWrite(ops, { ordered: false });
      if (res.matchedCount === items.length) return items.map((item) => this.decided(item, true));
    } catch (e) {
      failure = e;
    }
    const ids = [...new Set(items.map((i) => i.lease.taskId))];
    const read = this.tasks.find(queries.byIds.filter(ids), { projection: { 'history.w': 1 } }).toArray();
    const tasks = await read.catch((e: unknown) => Promise.reject(failure ?? e));
    const answers = sharedAnswers(
      items.map((item) => ({ ...item, also: this.aliases.of(item.w) })),
      tasks,
      failure,
    );
    items.forEach((item, i) => {
      const a = answers[i]!;
      if (a.ok || a.error instanceof WriteRefusedError) this.aliases.forget(item.w);
    });
    return answers;
  }

  private decided(item: LeaseWrite<A>, owned: boolean): Answer {
    this.aliases.forget(item.w);
    return { ok: true, value: { owned } };
  }
}
