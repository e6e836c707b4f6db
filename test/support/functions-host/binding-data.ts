/**
 * What the Functions host puts in a Service Bus SDK binding (ModelBindingData, source
 * "AzureServiceBusReceivedMessage"): the lock token's 16 bytes (.NET Guid byte order), the marker
 * "x-opt-lock-token", then the message as AMQP sections. @azure/functions-extensions-servicebus
 * (ServiceBusMessageDecoder, LockTokenUtil) reads exactly this.
 */
import { AmqpAnnotatedMessage } from '@azure/core-amqp';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import rhea from 'rhea';

export const MODEL_BINDING_SOURCE = 'AzureServiceBusReceivedMessage';
const LOCK_TOKEN_MARKER = Buffer.from('x-opt-lock-token');

export interface ModelBindingData {
  version: string;
  source: string;
  contentType: string;
  content: Buffer;
}

/** A Guid string as .NET's Guid.ToByteArray() lays it out: the first three groups little-endian. */
export function lockTokenBytes(lockToken: string): Buffer {
  const groups = lockToken.split('-');
  if (groups.length !== 5) throw new Error(`not a lock token: ${lockToken}`);
  const [a, b, c, d, e] = groups.map((g) => Buffer.from(g, 'hex'));
  return Buffer.concat([a!.reverse(), b!.reverse(), c!.reverse(), d!, e!]);
}

/** The binding data of one message the host received in peek-lock (the receiver parsed no body: raw bytes). */
export function toModelBindingData(message: ServiceBusReceivedMessage): ModelBindingData {
  if (!message.lockToken) throw new Error(`message ${String(message.messageId)} has no lock token (peek-lock only)`);
  const amqp = AmqpAnnotatedMessage.toRheaMessage(message._rawAmqpMessage);
  const body = message.body as unknown;
  const wire = {
    ...amqp,
    body: Buffer.isBuffer(body) ? rhea.message.data_section(body) : body,
    // What Service Bus annotates a delivered message with, in AMQP types.
    message_annotations: {
      ...(message.enqueuedTimeUtc ? { 'x-opt-enqueued-time': message.enqueuedTimeUtc } : {}),
      ...(message.sequenceNumber
        ? { 'x-opt-sequence-number': rhea.types.wrap_long(message.sequenceNumber.toNumber()) }
        : {}),
      ...(message.lockedUntilUtc ? { 'x-opt-locked-until': message.lockedUntilUtc } : {}),
    },
  };
  return {
    version: '1.0',
    source: MODEL_BINDING_SOURCE,
    contentType: 'application/octet-stream',
    content: Buffer.concat([lockTokenBytes(message.lockToken), LOCK_TOKEN_MARKER, rhea.message.encode(wire)]),
  };
}
