/**
 * Replays task dead letters into new runs: each message's original message is sent to the ingest
 * queue as a new message (a new message id, so ingest makes a new task; `taskmeshReplayOf` names the
 * old task), then the dead letter is completed and the old task notes the replay. At least once: a
 * crash between the send and the completion replays that one again.
 */
import { randomUUID } from 'node:crypto';
import { errorMessage } from '../errors/message.js';
import type { QueueMessage, QueueProvider } from '../queues/provider.js';
import type { TaskStore } from '../store/task-store.js';
import { parseTaskDeadLetter } from './envelope.js';

const RECEIVE_BATCH = 32;
const MAX_ERRORS_REPORTED = 10;

export interface TaskReplayResult {
  /** The provider kind of both queues. */
  provider: string;
  /** The task dead-letter queue read. */
  queue: string;
  /** Where the replayed messages went (the ingest queue). */
  to: string;
  replayed: number;
  failed: number;
  /** Old task id -> the new message's id (its task's source message id). */
  replays: { taskId: string; messageId: string }[];
  errors: string[];
}

export async function replayTaskDeadLetters(
  deadLetters: QueueProvider,
  ingest: QueueProvider,
  store: TaskStore,
  max: number,
): Promise<TaskReplayResult> {
  const r: TaskReplayResult = {
    provider: deadLetters.kind,
    queue: deadLetters.queueName,
    to: ingest.queueName,
    replayed: 0,
    failed: 0,
    replays: [],
    errors: [],
  };
  const note = (what: string) => {
    if (r.errors.length < MAX_ERRORS_REPORTED) r.errors.push(what);
  };
  const held: QueueMessage[] = [];
  try {
    while (r.replayed + r.failed < max) {
      const batch = await deadLetters.receive({
        maxMessages: Math.min(RECEIVE_BATCH, max - r.replayed - r.failed),
        waitMs: 0,
      });
      if (batch.length === 0) break;
      let sentInBatch = 0;
      for (const m of batch) {
        const parsed = parseTaskDeadLetter(m.body);
        if (!parsed.ok) {
          // Not ours (sent by hand?): left in place for an operator, not replayed blindly.
          r.failed++;
          note(`message ${m.id}: ${parsed.why}; left in ${deadLetters.queueName}`);
          held.push(m);
          continue;
        }
        const dl = parsed.value;
        let messageId: string;
        try {
          // A new message id (where the provider takes one): ingest makes a new task of it.
          const sent = await ingest.send({
            body: JSON.stringify(dl.message),
            messageId: randomUUID(),
            properties: { taskmeshReplayOf: dl.taskId },
          });
          messageId = sent.id;
        } catch (e) {
          r.failed++;
          note(`task ${dl.taskId}: send failed (${errorMessage(e)}); left in ${deadLetters.queueName}`);
          held.push(m);
          continue;
        }
        sentInBatch++;
        r.replayed++;
        r.replays.push({ taskId: dl.taskId, messageId });
        await store.deadLetters.markReplayed(dl.taskId, messageId).catch(() => false);
        try {
          await deadLetters.complete(m);
        } catch (e) {
          note(
            `task ${dl.taskId}: replayed, but completing its dead letter failed (${errorMessage(e)}); it may be replayed again`,
          );
        }
      }
      if (sentInBatch === 0) break;
    }
  } finally {
    // What was not replayed goes back at once.
    await Promise.all(held.map((m) => deadLetters.abandon(m, 0).catch(() => undefined)));
  }
  return r;
}
