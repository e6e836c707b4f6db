import type { Collection, Db } from 'mongodb';
import type { Task } from '../../tasks/model.js';

export const TASKS_COLLECTION = 'tasks';

export function tasksCollection(db: Db): Collection<Task> {
  return db.collection<Task>(TASKS_COLLECTION);
}

export const TASK_KEYS_COLLECTION = 'task_keys';

/**
 * The idempotency key of a purged task, kept until `forgetAt` (Retention:ForgetKeysAfter; a TTL index
 * removes it then): an insert with the same key finds it and is a duplicate, as it was while the task existed.
 */
export interface TaskKey {
  /** The purged task's _id (derived from the key, as a new task's would be). */
  _id: string;
  idempotencyKey: string;
  purgedAt: Date;
  forgetAt: Date;
}

export function taskKeysCollection(db: Db): Collection<TaskKey> {
  return db.collection<TaskKey>(TASK_KEYS_COLLECTION);
}
