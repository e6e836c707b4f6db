/**
 * Sends many messages in as few transfers as the link allows: `createMessageBatch` sized by the
 * link's max message size, a new batch whenever one is full. A batch also never mixes session ids:
 * on partitioned entities a batch goes to one partition, chosen by its first message's session.
 */
import type { ServiceBusMessage, ServiceBusMessageBatch, ServiceBusSender } from '@azure/service-bus';
import { QueueProviderError } from '../provider.js';
import { providerError, toProviderError, type ErrorContext } from './errors.js';

export class MessageTooLargeError extends Error {
  constructor(
    readonly index: number,
    readonly maxSizeInBytes: number,
  ) {
    super(`message ${index} does not fit in an empty batch (the link allows ${maxSizeInBytes} bytes)`);
    this.name = 'MessageTooLargeError';
  }
}

export class PartialBatchSendError extends Error {
  constructor(
    readonly sent: number,
    readonly total: number,
    options: { cause: unknown },
  ) {
    super(`${sent} of ${total} messages were sent before the failure`, options);
    this.name = 'PartialBatchSendError';
  }
}

/** Sends all messages in order; returns how many batches (transfers) it took. */
export async function sendInBatches(sender: ServiceBusSender, messages: ServiceBusMessage[]): Promise<number> {
  // A message that cannot fit even alone fails the call before anything is sent.
  for (const [i, m] of messages.entries()) {
    const probe = await sender.createMessageBatch();
    if (!probe.tryAddMessage(m)) throw new MessageTooLargeError(i, probe.maxSizeInBytes);
  }
  let sent = 0;
  let batches = 0;
  let batch: ServiceBusMessageBatch | undefined;
  let batchSession: string | undefined;

  const flush = async () => {
    if (!batch || batch.count === 0) return;
    const count = batch.count;
    try {
      await sender.sendMessages(batch);
    } catch (e) {
      throw sent > 0 ? new PartialBatchSendError(sent, messages.length, { cause: e }) : e;
    }
    sent += count;
    batches++;
    batch = undefined;
  };

  for (const [i, m] of messages.entries()) {
    if (batch && batch.count > 0 && m.sessionId !== batchSession) await flush();
    batch ??= await sender.createMessageBatch();
    if (batch.tryAddMessage(m)) {
      batchSession = m.sessionId;
      continue;
    }
    await flush();
    batch = await sender.createMessageBatch();
    if (!batch.tryAddMessage(m)) throw new MessageTooLargeError(i, batch.maxSizeInBytes);
    batchSession = m.sessionId;
  }
  await flush();
  return batches;
}

/** sendInBatches, its failures as QueueProviderError: what was too large, or how many were sent before the failure. */
export async function sendBatchOrFail(
  sender: ServiceBusSender,
  messages: ServiceBusMessage[],
  ctx: ErrorContext,
): Promise<number> {
  try {
    return await sendInBatches(sender, messages);
  } catch (e) {
    if (e instanceof MessageTooLargeError) {
      const message = `Service Bus sendBatch on '${ctx.queue}' failed: ${e.message}; nothing was sent`;
      throw providerError(message, ctx, 'MessageSizeExceeded');
    }
    if (e instanceof PartialBatchSendError) {
      const inner = toProviderError(e.cause, ctx);
      throw new QueueProviderError(`${inner.message} (${e.message})`, inner.details, { cause: e.cause });
    }
    throw toProviderError(e, ctx);
  }
}
