/**
 * Turns one message body into the task it asks for, or into a rejection with its reason.
 *
 * Checks, in order: size, JSON, operator injection (`$`-prefixed keys, dots, NUL anywhere in the
 * document: MongoDB would read them as operators or paths), nesting depth, the envelope schema (or the
 * bare-payload rule), and the known task types. A rejection still yields a task: a Failed one whose
 * reason says what was wrong, keyed by the message id (never by the producer's idempotency key, so a
 * corrected resend with the same key is not mistaken for a duplicate).
 */
import { createHash } from 'node:crypto';
import { messageIdempotencyKey } from '../store/ids.js';
import type { NewTask, TaskSource } from '../tasks/model.js';
import { errorMessage } from '../errors/message.js';
import { checkSize, scanDocument } from '../tasks/input-limits.js';
import { messageEnvelopeSchema, orderingKeySchema, taskTypeSchema, type RejectionCode } from './contract.js';

export interface DecodeOptions {
  maxBodyBytes: number;
  defaultTaskType?: string;
  taskTypeProperty: string;
  /** When set, other task types are rejected. */
  knownTaskTypes?: ReadonlySet<string>;
}

export interface DecodeInput {
  id: string;
  body: string;
  properties?: Record<string, string | number | boolean>;
  /** The bytes were not UTF-8 (`body` holds a lossy decoding, for the record). */
  invalidEncoding?: boolean;
  /** The transport's session id (Service Bus): the task's ordering key. */
  sessionId?: string;
  /** The host handed over a parsed value too deep to serialize back to text (`body` holds a note). */
  tooDeep?: boolean;
}

/** The message property that carries an ordering key on a queue with properties but no sessions. */
export const ORDERING_KEY_PROPERTY = 'orderingKey';

export interface Rejection {
  code: RejectionCode;
  detail: string;
}

export type Decoded = { task: NewTask; rejection?: undefined } | { task: NewTask; rejection: Rejection };

/** Type recorded on a Failed task whose message named no usable type. */
export const INVALID_MESSAGE_TYPE = 'invalid-message';
/** How much of a refused body its Failed task keeps (well inside MongoDB's 16 MiB document limit). */
export const RAW_BODY_KEPT_CHARS = 256 * 1024;

export function decodeMessage(
  msg: DecodeInput,
  source: { provider: string; queue: string },
  opts: DecodeOptions,
): Decoded {
  const taskSource: TaskSource = { provider: source.provider, queue: source.queue, messageId: msg.id };
  const messageKey = messageIdempotencyKey(source.provider, source.queue, msg.id);
  const reject = (code: RejectionCode, detail: string, type?: string): Decoded => ({
    rejection: { code, detail },
    task: {
      type: type ?? INVALID_MESSAGE_TYPE,
      payload: rawBodyRecord(msg.body),
      idempotencyKey: messageKey,
      source: taskSource,
      failedReason: `${code}: ${detail}`,
    },
  });

  if (msg.invalidEncoding) return reject('InvalidEncoding', 'the body is not valid UTF-8');
  if (msg.tooDeep) return reject('PayloadTooDeep', 'the host parsed a body nested too deep to serialize');
  // The checks every door shares (lib/tasks/input-limits.ts): size, then JSON, then the iterative scan.
  const tooLarge = checkSize(msg.body, opts.maxBodyBytes, 'Ingest:MaxBodyBytes');
  if (tooLarge) return reject(tooLarge.code, tooLarge.detail);
  let doc: unknown;
  try {
    doc = JSON.parse(msg.body);
  } catch (e) {
    return reject('InvalidJson', `the body is not JSON (${errorMessage(e)})`);
  }
  const unsafe = scanDocument(doc);
  if (unsafe) return reject(unsafe.code, unsafe.detail, typeHint(doc));

  const isEnvelope = doc !== null && typeof doc === 'object' && !Array.isArray(doc) && Object.hasOwn(doc, 'type');
  let task: NewTask;
  if (isEnvelope) {
    const r = messageEnvelopeSchema.safeParse(doc);
    if (!r.success) {
      const issues = r.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.length ? i.path.join('.') : '(envelope)'}: ${i.message}`)
        .join('; ');
      return reject('SchemaViolation', issues, typeHint(doc));
    }
    const e = r.data;
    task = {
      type: e.type,
      payload: e.payload ?? null,
      idempotencyKey: e.idempotencyKey ?? messageKey,
      source: taskSource,
      ...(e.priority !== undefined ? { priority: e.priority } : {}),
      ...(e.maxRetries !== undefined ? { maxRetries: e.maxRetries } : {}),
      ...(e.notBefore !== undefined ? { notBefore: e.notBefore } : {}),
      ...(e.timeout !== undefined ? { timeoutMs: e.timeout } : {}),
      ...(e.orderingKey !== undefined ? { orderingKey: e.orderingKey } : {}),
    };
  } else {
    // A bare payload: the type comes from the message, else from the configuration.
    const fromProperty = msg.properties?.[opts.taskTypeProperty];
    const type = typeof fromProperty === 'string' && fromProperty.length > 0 ? fromProperty : opts.defaultTaskType;
    if (type === undefined) {
      return reject(
        'MissingTaskType',
        `the body has no "type" member, the message no "${opts.taskTypeProperty}" property, and Ingest:DefaultTaskType is not set`,
      );
    }
    const t = taskTypeSchema.safeParse(type);
    if (!t.success)
      return reject('SchemaViolation', `task type "${type.slice(0, 100)}": ${t.error.issues[0]?.message ?? 'invalid'}`);
    task = { type: t.data, payload: doc, idempotencyKey: messageKey, source: taskSource };
  }

  if (opts.knownTaskTypes && !opts.knownTaskTypes.has(task.type)) {
    const known = [...opts.knownTaskTypes].sort();
    const listed = known.length > 30 ? `${known.slice(0, 30).join(', ')}, ...` : known.join(', ') || 'none';
    return reject(
      'UnknownTaskType',
      `task type "${task.type.slice(0, 100)}" has no handler; known types: ${listed} (Handlers:ExtraTypes adds types served by another deployment)`,
      task.type,
    );
  }
  // The session id (the transport's own order) wins over the envelope's key, which wins over a property.
  const raw = msg.properties?.[ORDERING_KEY_PROPERTY];
  const property = typeof raw === 'number' ? String(raw) : raw;
  const key = msg.sessionId ?? task.orderingKey ?? property;
  if (key !== undefined) {
    const k = orderingKeySchema.safeParse(key);
    if (!k.success)
      return reject('SchemaViolation', `ordering key: ${k.error.issues[0]?.message ?? 'invalid'}`, task.type);
    task.orderingKey = k.data;
  }
  return { task };
}

/** A type worth recording on the Failed task, when the document names a valid one. */
function typeHint(doc: unknown): string | undefined {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  const t = (doc as Record<string, unknown>).type;
  return taskTypeSchema.safeParse(t).success ? (t as string) : undefined;
}

/**
 * The refused body as its Failed task keeps it: whole, so a message removed without a dead letter loses
 * nothing; past RAW_BODY_KEPT_CHARS a prefix with the whole body's size and SHA-256.
 */
function rawBodyRecord(body: string): { rawBody: string; truncated: boolean; bodyChars: number; sha256?: string } {
  const truncated = body.length > RAW_BODY_KEPT_CHARS;
  return {
    rawBody: body.slice(0, RAW_BODY_KEPT_CHARS),
    truncated,
    bodyChars: body.length,
    ...(truncated ? { sha256: createHash('sha256').update(body, 'utf8').digest('hex') } : {}),
  };
}
