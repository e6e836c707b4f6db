/**
 * The push path: messages a platform already received (the Service Bus trigger), decoded and stored
 * like pulled ones. The platform settles them: refused ones are recorded as Failed tasks and reported
 * (the caller dead-letters them its own way); a store failure throws IngestStoreError so the platform
 * abandons and redelivers.
 */
import { z } from 'zod';
import type { IngestResult } from '../store/task-store.js';
import type { Rejection } from './decode.js';
import { MAX_TASK_DEPTH, scanDocument } from '../tasks/input-limits.js';
import { IngestStoreError } from './errors.js';
import { describeError, type IngestSteps, type MessageSource } from './prepare.js';

/** A message a platform already received (the Service Bus trigger); the platform settles it. */
export interface PushedMessage {
  id: string;
  /** Text, bytes (UTF-8) or, when the host already parsed JSON, the value. */
  body: unknown;
  deliveryCount: number;
  enqueuedAt: Date;
  sessionId?: string;
  properties?: Record<string, string | number | boolean>;
}

export type PushOutcome =
  | { id: string; outcome: 'stored' | 'duplicate'; taskId: string }
  | { id: string; outcome: 'rejected'; taskId: string; reason: Rejection['code']; description: string };

export interface PushResult {
  outcomes: PushOutcome[];
  stored: number;
  duplicates: number;
  rejected: number;
}

const pushedMessageSchema = z.object({
  id: z.string().min(1),
  body: z.unknown(),
  deliveryCount: z.number().int().min(0),
  enqueuedAt: z.date(),
  sessionId: z.string().optional(),
  properties: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});
const pushSourceSchema = z.object({ provider: z.string().min(1), queue: z.string().min(1) });

/** Ingests messages a platform already received; see the module comment for who settles what. */
export async function ingestPushed(
  steps: IngestSteps,
  messages: readonly PushedMessage[],
  source: MessageSource,
): Promise<PushResult> {
  const src = pushSourceSchema.parse(source);
  const parsed = z.array(pushedMessageSchema).parse(messages);
  const prepared = await steps.prepare(
    parsed.map((m) => ({
      id: m.id,
      ...bodyText(m.body),
      deliveryCount: m.deliveryCount,
      ...(m.properties ? { properties: m.properties } : {}),
      ...(m.sessionId ? { sessionId: m.sessionId } : {}),
    })),
    src,
  );
  const failure = { transient: true, queue: src.queue, messages: parsed.length };
  const failed = prepared.items.find((i) => i.taskIndex === undefined);
  if (failed)
    throw new IngestStoreError(
      `message ${failed.message.id} could not be decoded in time; nothing was stored`,
      failure,
    );
  let result: IngestResult;
  try {
    result = await steps.store(prepared.tasks);
  } catch (e) {
    const what = `storing ${parsed.length} pushed message(s) from ${src.provider} queue "${src.queue}" failed`;
    throw new IngestStoreError(`${what}: ${describeError(e)}`, failure, { cause: e });
  }
  const out: PushResult = { outcomes: [], stored: 0, duplicates: 0, rejected: 0 };
  for (const item of prepared.items) {
    const r = result.items[item.taskIndex!]!;
    const id = item.message.id;
    if (item.rejection) {
      out.rejected++;
      out.outcomes.push({
        id,
        outcome: 'rejected',
        taskId: r.taskId,
        reason: item.rejection.code,
        description: item.rejection.detail,
      });
    } else if (r.duplicate) {
      out.duplicates++;
      out.outcomes.push({ id, outcome: 'duplicate', taskId: r.taskId });
    } else {
      out.stored++;
      out.outcomes.push({ id, outcome: 'stored', taskId: r.taskId });
    }
  }
  await steps.notifyStored(out.stored);
  return out;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A pushed body as text: bytes must be UTF-8 (else refused as InvalidEncoding, text kept lossy for the record). */
function bodyText(body: unknown): { body: string; invalidEncoding?: true; tooDeep?: true } {
  if (typeof body === 'string') return { body };
  if (body instanceof Uint8Array) {
    try {
      return { body: strictUtf8.decode(body) };
    } catch {
      return { body: Buffer.from(body).toString('utf8'), invalidEncoding: true };
    }
  }
  // The host parsed the JSON already (Service Bus trigger with a JSON content type). JSON.stringify recurses:
  // the iterative scan decides first, so a hostile depth is refused, never a stack overflow.
  const tooDeep = scanDocument(body, { checkKeys: false, maxDepth: MAX_TASK_DEPTH + 1 })?.code === 'PayloadTooDeep';
  if (tooDeep) return { body: '(a value nested too deep to keep)', tooDeep: true };
  try {
    return { body: JSON.stringify(body) ?? '' };
  } catch {
    return { body: '(a value nested too deep to keep)', tooDeep: true };
  }
}

/**
 * How a platform settles the messages it pushed (Azure Functions' settlement client, wrapped by the
 * function): by the message's position in the batch it pushed.
 */
export interface PushSettler {
  complete(index: number): Promise<void>;
  deadLetter(index: number, reason: string, description: string): Promise<void>;
  abandon(index: number): Promise<void>;
}

export interface PushSettlement {
  completed: number;
  deadLettered: number;
  abandoned: number;
  /** Settlement calls that failed: those messages come back when their lock expires and are deduplicated. */
  failures: { id: string; action: 'complete' | 'deadLetter' | 'abandon'; error: string }[];
}

/**
 * Settles a pushed batch after ingest: stored and duplicate messages complete, refused ones go to
 * their entity's dead-letter queue with the refusal's code and detail. One failing settlement never
 * stops the others.
 */
export async function settlePushed(
  messages: readonly PushedMessage[],
  result: PushResult,
  settler: PushSettler,
): Promise<PushSettlement> {
  const out: PushSettlement = { completed: 0, deadLettered: 0, abandoned: 0, failures: [] };
  await Promise.all(
    result.outcomes.map(async (o, i) => {
      const id = messages[i]?.id ?? o.id;
      const action = o.outcome === 'rejected' ? 'deadLetter' : 'complete';
      try {
        if (o.outcome === 'rejected') {
          await settler.deadLetter(i, o.reason, o.description);
          out.deadLettered++;
        } else {
          await settler.complete(i);
          out.completed++;
        }
      } catch (e) {
        out.failures.push({ id, action, error: describeError(e) });
      }
    }),
  );
  return out;
}

/** Gives a whole pushed batch back (its store write failed): redelivered, never dead-lettered for it. */
export async function abandonPushed(messages: readonly PushedMessage[], settler: PushSettler): Promise<PushSettlement> {
  const out: PushSettlement = { completed: 0, deadLettered: 0, abandoned: 0, failures: [] };
  await Promise.all(
    messages.map(async (m, i) => {
      try {
        await settler.abandon(i);
        out.abandoned++;
      } catch (e) {
        out.failures.push({ id: m.id, action: 'abandon', error: describeError(e) });
      }
    }),
  );
  return out;
}
