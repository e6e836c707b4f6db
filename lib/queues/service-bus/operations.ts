/**
 * Service-Bus-only operations, beyond the QueueProvider contract: deferring a message and receiving it
 * back by its sequence number, scheduling and cancelling scheduled messages, renewing a message lock.
 * ServiceBusQueueProvider exposes each as a method.
 */
import Long from 'long';
import type { OutgoingMessage, QueueMessage } from '../provider.js';
import { guard, providerError } from './errors.js';
import type { ServiceBusLinks } from './links.js';
import { ServiceBusHandle, toQueueMessage } from './messages.js';

export async function defer(links: ServiceBusLinks, message: QueueMessage): Promise<bigint> {
  const h = links.handleOf(message, 'defer');
  await guard(links.ctx('defer'), () => h.receiver.deferMessage(h.message));
  h.markSettled();
  return BigInt(h.message.sequenceNumber?.toString() ?? '0');
}

/** Session entities receive deferred messages through their session (acceptSession().receiveDeferred). */
export async function receiveDeferred(links: ServiceBusLinks, sequenceNumbers: bigint[]): Promise<QueueMessage[]> {
  const ctx = links.ctx('receiveDeferred');
  links.assertOpen(ctx);
  if (links.settings.requiresSession) {
    const why =
      'deferred messages of a session entity are received through their session (acceptSession().receiveDeferred)';
    throw providerError(why, ctx, 'InvalidOperation');
  }
  if (sequenceNumbers.length === 0) return [];
  const receiver = links.receiverFor('entity');
  const got = await guard(ctx, () => receiver.receiveDeferredMessages(sequenceNumbers.map(toLong)));
  return got.map((m) => toQueueMessage(m, new ServiceBusHandle(m, receiver, 'deferred')));
}

export async function schedule(links: ServiceBusLinks, message: OutgoingMessage, at: Date): Promise<bigint> {
  const ctx = links.ctx('schedule');
  links.assertOpen(ctx);
  const sbMessage = links.outgoing({ ...message, delayMs: undefined, scheduledAt: undefined }, ctx);
  const [sequenceNumber] = await guard(ctx, () => links.senderLink().scheduleMessages(sbMessage, at));
  if (!sequenceNumber) {
    throw providerError('Service Bus returned no sequence number for the scheduled message', ctx, 'GeneralError', true);
  }
  return BigInt(sequenceNumber.toString());
}

export async function cancelScheduled(links: ServiceBusLinks, sequenceNumbers: bigint | bigint[]): Promise<void> {
  const ctx = links.ctx('cancelScheduled');
  links.assertOpen(ctx);
  const list = Array.isArray(sequenceNumbers) ? sequenceNumbers : [sequenceNumbers];
  if (list.length > 0) await guard(ctx, () => links.senderLink().cancelScheduledMessages(list.map(toLong)));
}

export async function renewLock(links: ServiceBusLinks, message: QueueMessage): Promise<Date> {
  const ctx = links.ctx('renewLock');
  const h = links.handleOf(message, 'renewLock');
  if (h.source === 'session') {
    throw providerError(
      'messages of a session are locked by the session: renew the session lock',
      ctx,
      'InvalidOperation',
    );
  }
  return guard(ctx, () => h.receiver.renewMessageLock(h.message));
}

function toLong(n: bigint): Long {
  return Long.fromString(n.toString());
}
