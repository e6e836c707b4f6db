import type { Collection } from 'mongodb';
import type { Task } from '../../tasks/model.js';
import type { DeadLetterMarks } from '../task-store.js';
import { deadLetterQueries as queries, deadLetterWrites as writes } from './dead-letter-writes.js';

/** DeadLetterMarks on the tasks collection: the statements of ./dead-letter-writes.ts, sent from here only. */
export class MongoDeadLetterMarks implements DeadLetterMarks {
  constructor(private readonly tasks: Collection<Task>) {}

  claim(
    task: Pick<Task, '_id' | 'attempts'>,
    mark: { token: string; queue: string },
    opts: { staleMs: number; now?: Date },
  ): Promise<Task | null> {
    const now = opts.now ?? new Date();
    const { filter, update } = writes.claimDeadLetter;
    return this.tasks.findOneAndUpdate(
      filter(task._id, task.attempts, new Date(now.getTime() - opts.staleMs)),
      update({ ...mark, attempts: task.attempts }, now),
      { returnDocument: 'after' },
    );
  }

  async markSent(taskId: string, token: string, messageId: string, now = new Date()): Promise<boolean> {
    const { filter, update } = writes.markDeadLetterSent;
    const r = await this.tasks.updateOne(filter(taskId, token), update(now, messageId));
    return r.matchedCount === 1;
  }

  async markReplayed(taskId: string, messageId: string, now = new Date()): Promise<boolean> {
    const { filter, update } = writes.markDeadLetterReplayed;
    const r = await this.tasks.updateOne(filter(taskId), update(now, messageId));
    return r.matchedCount === 1;
  }

  sent(limit: number): Promise<Task[]> {
    const { filter, sort } = queries.deadLetterSent;
    return this.tasks
      .find(filter())
      .sort(sort ?? {})
      .limit(limit)
      .toArray();
  }

  due(since: Date, limit: number): Promise<Task[]> {
    return this.tasks.find(queries.deadLetterDue.filter(since)).limit(limit).toArray();
  }
}
