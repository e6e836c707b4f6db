/**
 * Between this project's messages and MNS's: the send parameters of an OutgoingMessage (checked against what
 * MNS can carry), the QueueMessages of a receive reply, the handle back from a received message, and the
 * errors for a reply or a handle that does not fit. Pure functions: the provider (provider.ts) sends.
 */
import type MNSClient from '@alicloud/mns';
import type { z } from 'zod';
import { QueueProviderError, type OutgoingMessage, type QueueMessage } from '../provider.js';
import { clamp } from '../toolkit.js';
import { encodeMnsBody, findInvalidXmlChar } from './body-codec.js';
import { MNS_MAX_DELAY_SECONDS } from './options.js';
import { handleSchema, type MnsHandle, type receiveBody } from './replies.js';

/** An outgoing message as MNS takes it: its body XML-escaped, its delay in seconds; refused if MNS cannot carry it. */
export function toSendParams(message: OutgoingMessage, queue: string, maxBytes: number): MNSClient.MnsMessageParams {
  const bad = findInvalidXmlChar(message.body);
  if (bad >= 0) {
    throw new QueueProviderError(
      `MNS send to queue "${queue}": the body has a character XML cannot carry (U+${message.body.codePointAt(bad)!.toString(16).toUpperCase().padStart(4, '0')} at index ${bad})`,
      { provider: 'mns', queue, operation: 'sendMessage', code: 'InvalidMessageBody', transient: false },
    );
  }
  const bytes = Buffer.byteLength(message.body, 'utf8');
  if (bytes > maxBytes) {
    throw new QueueProviderError(`MNS send to queue "${queue}": the body is ${bytes} bytes; the limit is ${maxBytes}`, {
      provider: 'mns',
      queue,
      operation: 'sendMessage',
      code: 'MessageTooLarge',
      transient: false,
    });
  }
  const delayMs = message.scheduledAt ? message.scheduledAt.getTime() - Date.now() : (message.delayMs ?? 0);
  const delaySeconds = clamp(Math.ceil(Math.max(0, delayMs) / 1000), 0, MNS_MAX_DELAY_SECONDS);
  return { MessageBody: encodeMnsBody(message.body), ...(delaySeconds > 0 ? { DelaySeconds: delaySeconds } : {}) };
}

/** The messages of a parsed receive reply from `queue`, each with the handle that settles it. */
export function toQueueMessages(received: z.infer<typeof receiveBody>, queue: string): QueueMessage[] {
  return received.map((m) => {
    const handle: MnsHandle = { kind: 'mns', queue, receiptHandle: m.ReceiptHandle };
    return {
      id: m.MessageId,
      body: m.MessageBody,
      deliveryCount: m.DequeueCount,
      enqueuedAt: new Date(m.EnqueueTime),
      handle,
    };
  });
}

/** The MNS handle of a message received from `expectedQueue`; any other message is refused. */
export function handleOf(message: QueueMessage, expectedQueue: string, operation: string): MnsHandle {
  const h = handleSchema.safeParse(message.handle);
  if (!h.success || h.data.queue !== expectedQueue) {
    throw new QueueProviderError(
      `MNS ${operation}: message ${message.id} was not received from queue "${expectedQueue}" by an MNS provider`,
      { provider: 'mns', queue: expectedQueue, operation, code: 'ForeignHandle', transient: false },
    );
  }
  return h.data;
}

export function badReply(operation: string, queue: string): QueueProviderError {
  return new QueueProviderError(
    `MNS ${operation} on queue "${queue}": the service's reply did not have the expected shape`,
    {
      provider: 'mns',
      queue,
      operation,
      code: 'UnexpectedReply',
      transient: true,
    },
  );
}
