import type { Collection, Db } from 'mongodb';
import type { Task } from '../../tasks/model.js';

export const TASKS_COLLECTION = 'tasks';

export function tasksCollection(db: Db): Collection<Task> {
  return db.collection<Task>(TASKS_COLLECTION);
}
