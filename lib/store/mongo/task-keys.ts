import type { AnyBulkWriteOperation, Collection } from 'mongodb';
import type { Task } from '../../tasks/model.js';
import type { TaskKey } from './collections.js';
import { queries } from './queries.js';
import { writes } from './writes.js';

/** Deleted tasks purged per round (one read, one key write, one delete each). */
const PURGE_PAGE = 1_000;

// Idempotency keys outlive their tasks: purge keeps each purged task's key in task_keys until forgetAt, and
// ingest treats a kept key as a duplicate. Only ./store.ts calls these.

/** The ids among `ids` whose tasks were purged but whose keys are still kept (one read by _id). */
export async function keptKeys(keys: Collection<TaskKey>, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const found = await keys.find({ _id: { $in: [...ids] } }, { projection: { _id: 1 } }).toArray();
  return new Set(found.map((k) => k._id));
}

/**
 * Removes Deleted tasks older than `cutoff`, a page at a time: each page's keys are written to task_keys
 * first (kept until `forgetAt`), then the tasks are deleted (still Deleted and old, so a task changed since
 * the read stays). A key written for a task that then stays is harmless: its _id is taken anyway.
 */
export async function purgeKeepingKeys(
  tasks: Collection<Task>,
  keys: Collection<TaskKey>,
  cutoff: Date,
  now: Date,
  forgetAt: Date,
): Promise<number> {
  let purged = 0;
  for (;;) {
    const page = await tasks
      .find(queries.purgeDue.filter(cutoff), { projection: { _id: 1, idempotencyKey: 1 } })
      .limit(PURGE_PAGE)
      .toArray();
    if (page.length === 0) return purged;
    const keep: AnyBulkWriteOperation<TaskKey>[] = page.map((t) => ({
      updateOne: {
        filter: { _id: t._id },
        update: { $set: { idempotencyKey: t.idempotencyKey, purgedAt: now, forgetAt } },
        upsert: true,
      },
    }));
    await keys.bulkWrite(keep, { ordered: false });
    const res = await tasks.deleteMany(
      writes.purge.filter(
        page.map((t) => t._id),
        cutoff,
      ),
    );
    purged += res.deletedCount;
    if (page.length < PURGE_PAGE) return purged;
  }
}
