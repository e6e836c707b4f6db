/**
 * The Service Bus trigger's SDK binding (`sdkBinding: true`, `autoCompleteMessages: false`, with
 * @azure/functions-extensions-servicebus): the host hands over ServiceBusReceivedMessages still
 * locked, plus a settlement client that talks gRPC back to the host. This file only translates: the
 * messages into PushedMessages, the client into a PushSettler; lib/ decides who completes and who is
 * dead-lettered.
 */
import type { InvocationContext } from '@azure/functions';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { z } from 'zod';
import type { PushedMessage, PushSettler } from '../../lib/ingest/push.js';

/** What we call on the extension's settlement client (ServiceBusMessageActions). */
interface SettlementActions {
  complete(message: ServiceBusReceivedMessage): Promise<void>;
  abandon(message: ServiceBusReceivedMessage, propertiesToModify?: Uint8Array): Promise<void>;
  deadletter(
    message: ServiceBusReceivedMessage,
    propertiesToModify?: Uint8Array,
    reason?: string,
    description?: string,
  ): Promise<void>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const hasMethods = (v: unknown): v is SettlementActions =>
  isObject(v) && ['complete', 'abandon', 'deadletter'].every((k) => typeof v[k] === 'function');

const receivedMessage = z.custom<ServiceBusReceivedMessage>(
  (v) => isObject(v) && typeof v.lockToken === 'string',
  'a ServiceBusReceivedMessage with a lock token',
);
const sdkBindingInput = z.object({
  messages: z.union([z.array(receivedMessage), receivedMessage.transform((m) => [m])]),
  actions: z.custom<SettlementActions>(hasMethods, 'the settlement client (ServiceBusMessageActions)'),
});

const scalar = z.union([z.string(), z.number(), z.boolean()]);
// The host still sends the batch's trigger metadata; the SDK binding loses the delivery count and the enqueue time.
const batchMetadata = z.object({
  deliveryCountArray: z.array(z.coerce.number()).optional(),
  enqueuedTimeUtcArray: z.array(z.coerce.date()).optional(),
});

/** Thrown when the trigger's input is not the SDK binding's shape (the function was registered without it). */
export class SdkBindingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SdkBindingError';
  }
}

/** The SDK binding's input as PushedMessages plus a settler that settles them through the host. */
export function fromSdkBinding(
  input: unknown,
  context: InvocationContext,
): { messages: PushedMessage[]; settler: PushSettler } {
  const parsed = sdkBindingInput.safeParse(input);
  if (!parsed.success)
    throw new SdkBindingError(
      `function ${context.functionName}: the trigger did not pass the Service Bus SDK binding (sdkBinding: true with @azure/functions-extensions-servicebus registered): ${parsed.error.issues[0]?.message ?? 'invalid input'}`,
    );
  const { messages: received, actions } = parsed.data;
  const meta = batchMetadata.safeParse(context.triggerMetadata ?? {});
  const m = meta.success ? meta.data : {};
  const messages = received.map((msg, i): PushedMessage => {
    const raw = msg._rawAmqpMessage;
    const properties = scalarProperties(msg.applicationProperties);
    return {
      id: msg.messageId !== undefined ? String(msg.messageId) : `${context.invocationId}:${i}`,
      body: rawBody(msg),
      // The AMQP header counts previous attempts; Service Bus counts this one too.
      deliveryCount: m.deliveryCountArray?.[i] ?? (raw?.header?.deliveryCount ?? 0) + 1,
      enqueuedAt: m.enqueuedTimeUtcArray?.[i] ?? enqueuedTime(msg) ?? new Date(),
      ...(msg.sessionId ? { sessionId: msg.sessionId } : {}),
      ...(properties ? { properties } : {}),
    };
  });
  const at = (i: number): ServiceBusReceivedMessage => {
    const msg = received[i];
    if (!msg) throw new RangeError(`no message at position ${i} of a batch of ${received.length}`);
    return msg;
  };
  return {
    messages,
    settler: {
      complete: (i) => actions.complete(at(i)),
      abandon: (i) => actions.abandon(at(i)),
      // The extension puts reason and description as they are into google.protobuf.StringValue fields, whose
      // serializer wants { value }: a plain string fails with "object expected" before anything is sent.
      deadLetter: (i, reason, description) =>
        actions.deadletter(at(i), undefined, stringValue(reason), stringValue(description)),
    },
  };
}

function stringValue(text: string): string {
  return { value: text } as unknown as string;
}

/** The body as the bytes that were sent when the message has a data section, so ingest can check the encoding. */
function rawBody(msg: ServiceBusReceivedMessage): unknown {
  const raw = msg._rawAmqpMessage as { body?: unknown; bodyType?: string } | undefined;
  const section = raw?.body;
  if (isObject(section) && section.typecode === 117 && Buffer.isBuffer(section.content)) return section.content;
  if (Buffer.isBuffer(section)) return section;
  return msg.body;
}

function enqueuedTime(msg: ServiceBusReceivedMessage): Date | undefined {
  if (msg.enqueuedTimeUtc instanceof Date) return msg.enqueuedTimeUtc;
  const v: unknown = msg._rawAmqpMessage?.messageAnnotations?.['x-opt-enqueued-time'];
  const d = v instanceof Date ? v : typeof v === 'number' || typeof v === 'string' ? new Date(v) : undefined;
  return d && !Number.isNaN(d.getTime()) ? d : undefined;
}

function scalarProperties(
  props: Record<string, unknown> | undefined,
): Record<string, string | number | boolean> | undefined {
  if (!props) return undefined;
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(props)) {
    const s = scalar.safeParse(v);
    if (s.success) out[k] = s.data;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
