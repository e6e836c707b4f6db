/**
 * Queue health. With the HTTPS management (ATOM) endpoint the runtime properties give exact counts.
 * Where there is none (the development emulator, or a SAS rule without Manage rights) the counts come
 * from peeking over AMQP: exact up to `peekLimit` messages, unknown (undefined) beyond. A peek also
 * sees messages that are locked by a receiver, so the peeked depth includes in-flight messages.
 */
import type { ServiceBusAdministrationClient, ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';
import Long from 'long';
import type { QueueHealth } from '../provider.js';
import type { EntityNames } from './entities.js';
import { providerKind, toProviderError } from './errors.js';
import type { ServiceBusLinks } from './links.js';

/** The entity's health: exact counts from the management endpoint when it answers, else counted by peeking. */
export async function entityHealth(links: ServiceBusLinks): Promise<QueueHealth> {
  const base = { provider: providerKind, queue: links.path };
  try {
    links.assertOpen(links.ctx('health'));
    const exact = links.admin ? await runtimeCountsIfAvailable(links, links.admin) : undefined;
    // The peek also proves the entity answers over AMQP; with exact counts the first message (the oldest) is enough.
    const peekLimit = links.settings.healthPeekLimit;
    const peeked = await countByPeeking(links.receiverFor('entity'), exact ? 1 : peekLimit);
    const oldest = peeked.oldestActiveEnqueuedAt;
    const age = oldest ? { oldestMessageAgeMs: Math.max(0, Date.now() - oldest.getTime()) } : {};
    const health: QueueHealth = { ...base, reachable: true, ...age };
    if (exact) {
      const delayed = exact.scheduled !== undefined ? { delayed: exact.scheduled } : {};
      return { ...health, depth: exact.active, deadLetterDepth: exact.deadLetter, ...delayed };
    }
    const deadLetters = await countByPeeking(links.receiverFor('dead-letter'), peekLimit);
    return {
      ...health,
      ...(peeked.truncated ? {} : { depth: peeked.active, delayed: peeked.scheduled }),
      ...(deadLetters.truncated ? {} : { deadLetterDepth: deadLetters.active + deadLetters.deferred }),
    };
  } catch (e) {
    return { ...base, reachable: false, error: toProviderError(e, links.ctx('health')).message };
  }
}

async function runtimeCountsIfAvailable(
  links: ServiceBusLinks,
  admin: ServiceBusAdministrationClient,
): Promise<RuntimeCounts | undefined> {
  try {
    return await runtimeCounts(admin, links.settings.entity);
  } catch (e) {
    links.log.debug('runtime properties unavailable; counting by peeking', {
      error: toProviderError(e, links.ctx('health')),
    });
    return undefined;
  }
}

export interface PeekedCounts {
  active: number;
  scheduled: number;
  deferred: number;
  oldestActiveEnqueuedAt?: Date;
  /** More messages exist than were counted. */
  truncated: boolean;
}

export interface RuntimeCounts {
  active: number;
  deadLetter: number;
  scheduled?: number;
}

export async function countByPeeking(
  receiver: ServiceBusReceiver,
  peekLimit: number,
  pageSize = 250,
): Promise<PeekedCounts> {
  const counts: PeekedCounts = { active: 0, scheduled: 0, deferred: 0, truncated: false };
  let from = Long.ZERO;
  let seen = 0;
  for (;;) {
    const want = Math.min(pageSize, peekLimit - seen);
    if (want <= 0) {
      counts.truncated = (await receiver.peekMessages(1, { fromSequenceNumber: from })).length > 0;
      return counts;
    }
    const page: ServiceBusReceivedMessage[] = await receiver.peekMessages(want, { fromSequenceNumber: from });
    if (page.length === 0) return counts;
    for (const m of page) {
      seen++;
      if (m.state === 'scheduled') counts.scheduled++;
      else if (m.state === 'deferred') counts.deferred++;
      else {
        counts.active++;
        if (
          m.enqueuedTimeUtc &&
          (!counts.oldestActiveEnqueuedAt || m.enqueuedTimeUtc < counts.oldestActiveEnqueuedAt)
        ) {
          counts.oldestActiveEnqueuedAt = m.enqueuedTimeUtc;
        }
      }
      if (m.sequenceNumber) from = m.sequenceNumber.add(1);
    }
    if (page.length < want) return counts;
  }
}

export async function runtimeCounts(admin: ServiceBusAdministrationClient, names: EntityNames): Promise<RuntimeCounts> {
  if (names.queueName) {
    const q = await admin.getQueueRuntimeProperties(names.queueName);
    return { active: q.activeMessageCount, deadLetter: q.deadLetterMessageCount, scheduled: q.scheduledMessageCount };
  }
  const s = await admin.getSubscriptionRuntimeProperties(names.topicName!, names.subscriptionName!);
  // Scheduled messages wait in the topic, not in the subscription.
  const t = await admin.getTopicRuntimeProperties(names.topicName!);
  return { active: s.activeMessageCount, deadLetter: s.deadLetterMessageCount, scheduled: t.scheduledMessageCount };
}
