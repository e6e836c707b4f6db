/**
 * The writes and the read of a task's trip to the dead-letter queue (lib/dead-letters). They change no
 * state: they mark a finished task (Error or Timeout) so that one sender sends it, once per run.
 * Spread into ./writes.ts and ./queries.ts, so the transition and index-coverage tests check them too.
 */
import type { Filter } from 'mongodb';
import type { Task } from '../../tasks/model.js';
import { JobTaskStatus as S } from '../../tasks/status.js';
import { queryDeclarer } from './query-declaration.js';
import { updateStatement as update } from './write-declaration.js';

/** What ends a task for good and can be dead-lettered. */
export const deadLetterableStatuses = [S.Error, S.Timeout] as const;
const at = new Date(0);

/**
 * Not sent for this run (an operator's retry clears the mark), and no live claim by another sender: a
 * claim older than `staleBefore` is a sender that died between its claim and its send.
 */
const unsent = (staleBefore: Date): Filter<Task> => ({
  $or: [{ deadLetter: null }, { 'deadLetter.state': 'sending', 'deadLetter.claimedAt': { $lt: staleBefore } }],
});

export const deadLetterWrites = {
  /** A sender takes a finished task's dead letter: the run it read, not sent yet, no live claim. */
  claimDeadLetter: update({
    name: 'claimDeadLetter',
    from: deadLetterableStatuses,
    to: [],
    index: '_id',
    sample: ['a', 1, at],
    filter: (taskId: string, attempts: number, staleBefore: Date) => ({
      _id: taskId,
      status: { $in: [...deadLetterableStatuses] },
      attempts,
      ...unsent(staleBefore),
    }),
    update: (mark: { token: string; attempts: number; queue: string }, now: Date) => ({
      $set: { deadLetter: { state: 'sending' as const, ...mark, claimedAt: now }, updatedAt: now },
      $inc: { version: 1 },
    }),
  }),
  /** The claim's holder records the send. */
  markDeadLetterSent: update({
    name: 'markDeadLetterSent',
    from: deadLetterableStatuses,
    to: [],
    index: '_id',
    sample: ['a', 't'],
    filter: (taskId: string, token: string) => ({
      _id: taskId,
      status: { $in: [...deadLetterableStatuses] },
      'deadLetter.token': token,
      'deadLetter.state': 'sending',
    }),
    update: (now: Date, messageId: string) => ({
      $set: { 'deadLetter.state': 'sent', 'deadLetter.sentAt': now, 'deadLetter.messageId': messageId, updatedAt: now },
      $inc: { version: 1 },
    }),
  }),
  /** A replay of the sent dead letter (informational: the replay made a new task). */
  markDeadLetterReplayed: update({
    name: 'markDeadLetterReplayed',
    from: deadLetterableStatuses,
    to: [],
    index: '_id',
    sample: ['a'],
    filter: (taskId: string) => ({
      _id: taskId,
      status: { $in: [...deadLetterableStatuses] },
      'deadLetter.state': 'sent',
    }),
    update: (now: Date, messageId: string) => ({
      $set: { 'deadLetter.replayedAt': now, 'deadLetter.replayMessageId': messageId, updatedAt: now },
      $inc: { version: 1 },
    }),
  }),
} as const;

const declare = queryDeclarer<Task>();

export const deadLetterQueries = {
  /**
   * Finished since `since` and not sent (the sweep that makes sending at-least-once); claims still
   * live are skipped by the claim write itself.
   */
  deadLetterDue: declare({
    name: 'deadLetterDue',
    index: 'dead_letter_due',
    filter: (since: Date) => ({
      status: { $in: [...deadLetterableStatuses] },
      'deadLetter.state': { $ne: 'sent' },
      finishedAt: { $gte: since },
    }),
    sample: [at],
  }),
  /** Sent dead letters, most recently finished first (taskctl dlq list). */
  deadLetterSent: declare({
    name: 'deadLetterSent',
    index: 'dead_letter_due',
    filter: () => ({ status: { $in: [...deadLetterableStatuses] }, 'deadLetter.state': 'sent' }),
    sort: { finishedAt: -1 },
    sample: [],
  }),
} as const;
