import type { Collection, Filter, UpdateFilter } from 'mongodb';
import type { Task } from '../../tasks/model.js';
import { newWriteId } from '../ids.js';
import type * as api from '../task-store.js';
import { queries } from './queries.js';
import type { Settled } from './turn-batch.js';
import { entryWritten, sharedAnswers, writeEntry } from './write-outcomes.js';

type Lease = api.Lease;
/** One caller's lease write: its lease and the id of its logical write (the same on every try). */
export type LeaseWrite = { lease: Lease; w: string };
type Answers = Settled<api.LeaseWriteResult>[];
/** A lease write's statement (start, complete, cancelled, release): guarded by the lease, stamped with the write id. */
export interface LeaseStatement<A> {
  filter(lease: Lease): Filter<Task>;
  update(lease: Lease, now: Date, w: string, arg: A): UpdateFilter<Task>;
}

/** One lease write. When it matched nothing, one read tells whether an earlier try (same write id) applied. */
export async function leaseWrite<A>(
  tasks: Collection<Task>,
  lease: Lease,
  opts: api.LeaseWriteOptions,
  statement: LeaseStatement<A>,
  arg: A,
) {
  const w = opts.writeId ?? newWriteId();
  const res = await tasks.updateOne(statement.filter(lease), statement.update(lease, new Date(), w, arg));
  if (res.matchedCount === 1) return { owned: true };
  const doc = await tasks.findOne(queries.byId.filter(lease.taskId), { projection: writeEntry(w) });
  return { owned: doc !== null && entryWritten(doc) !== undefined } satisfies api.LeaseWriteResult;
}

/**
 * The lease writes of one turn as one unordered bulk write: one updateOne per caller, guarded by its lease,
 * stamped with its write id. If fewer matched than were sent (or it threw), one read by id tells each caller.
 */
export async function leaseWriteMany<A>(
  tasks: Collection<Task>,
  items: LeaseWrite[],
  statement: LeaseStatement<A>,
  arg: A,
): Promise<Answers> {
  const now = new Date();
  const ops = items.map(({ lease, w }) => ({
    updateOne: { filter: statement.filter(lease), update: statement.update(lease, now, w, arg) },
  }));
  let failure: unknown;
  try {
    const res = await tasks.bulkWrite(ops, { ordered: false });
    if (res.matchedCount === items.length) return items.map(() => ({ ok: true, value: { owned: true } }));
  } catch (e) {
    failure = e;
  }
  const ids = [...new Set(items.map((i) => i.lease.taskId))];
  const read = tasks.find(queries.byIds.filter(ids), { projection: { 'history.w': 1 } }).toArray();
  const found = await read.catch((e: unknown) => Promise.reject(failure ?? e));
  return sharedAnswers(items, found, failure);
}
