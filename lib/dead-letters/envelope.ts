/**
 * The message a task's dead letter is: why it ended (status, reason, last error) and the original
 * message, as an envelope ingest accepts again (docs/message-contract.md), so a replay is a send of it.
 */
import { z } from 'zod';
import type { MessageEnvelopeInput } from '../ingest/contract.js';
import type { Task } from '../tasks/model.js';
import { JobTaskStatus as S, statusName } from '../tasks/status.js';

export const TASK_DEAD_LETTER_FORMAT = 'taskmesh.task-deadletter/1';

/** Descriptions are for people; bounded so the message stays within the providers' size limits. */
const MAX_TEXT = 2048;

const taskDeadLetterSchema = z.object({
  format: z.literal(TASK_DEAD_LETTER_FORMAT),
  taskId: z.string(),
  type: z.string(),
  status: z.enum(['Error', 'Timeout']),
  reason: z.string(),
  lastError: z.object({ message: z.string(), kind: z.string().optional(), attempt: z.number().optional() }).nullable(),
  attempts: z.number().int(),
  finishedAt: z.string().nullable(),
  deadLetteredAt: z.string(),
  source: z.object({ provider: z.string(), queue: z.string(), messageId: z.string().optional() }).optional(),
  /** The original message as ingest takes it (type, payload, priority, retries, timeout). */
  message: z.record(z.string(), z.unknown()),
});
export type TaskDeadLetter = z.infer<typeof taskDeadLetterSchema>;

/** The original message of a task, as a message envelope (its idempotency key left out: a replay is a new run). */
export function originalMessage(task: Task): MessageEnvelopeInput {
  return {
    type: task.type,
    ...(task.payload !== null && task.payload !== undefined ? { payload: task.payload } : {}),
    ...(task.priority ? { priority: task.priority } : {}),
    maxRetries: task.maxRetries,
    ...(task.timeoutMs !== undefined ? { timeout: task.timeoutMs } : {}),
  };
}

export function toTaskDeadLetter(task: Task, now: Date): TaskDeadLetter {
  const last = task.errors.at(-1);
  const reason = last?.message ?? task.reason ?? `ended ${statusName(task.status)}`;
  return {
    format: TASK_DEAD_LETTER_FORMAT,
    taskId: task._id,
    type: task.type,
    status: task.status === S.Timeout ? 'Timeout' : 'Error',
    reason: reason.slice(0, MAX_TEXT),
    lastError: last
      ? { message: last.message.slice(0, MAX_TEXT), ...(last.kind ? { kind: last.kind } : {}), attempt: last.attempt }
      : null,
    attempts: task.attempts,
    finishedAt: task.finishedAt ? task.finishedAt.toISOString() : null,
    deadLetteredAt: now.toISOString(),
    ...(task.source ? { source: task.source } : {}),
    message: originalMessage(task) as Record<string, unknown>,
  };
}

/** A task dead letter read back, or why the text is not one. */
export function parseTaskDeadLetter(text: string): { ok: true; value: TaskDeadLetter } | { ok: false; why: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, why: 'not JSON' };
  }
  const r = taskDeadLetterSchema.safeParse(json);
  if (!r.success) return { ok: false, why: `not a ${TASK_DEAD_LETTER_FORMAT} message: ${r.error.issues[0]?.message}` };
  return { ok: true, value: r.data };
}
