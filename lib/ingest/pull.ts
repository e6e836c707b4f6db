/**
 * The pull path: receive a batch from a queue provider, store its tasks in one bulk write, then settle
 * each message: complete the stored ones, dead-letter the refused ones. A crash between the write and
 * the settlement redelivers the messages; their idempotency keys (the producer's, or
 * provider+queue+message id) make the second write a no-op. A store failure gives the messages back
 * (abandon, with backoff): it never dead-letters them.
 */
import type { QueueMessage, QueueProvider } from '../queues/provider.js';
import { redeliveryDelay } from '../queues/redelivery.js';
import type { IngestResult } from '../store/task-store.js';
import { describeError, ownSignal, type IngestSteps, type Prepared } from './prepare.js';

export interface IngestCounts {
  received: number;
  /** New tasks (Queued). */
  stored: number;
  /** Messages whose task existed already (redeliveries, producer retries). */
  duplicates: number;
  /** Refused messages, recorded as Failed tasks. */
  rejected: number;
  deadLettered: number;
  completed: number;
  /** Given back for redelivery (store failure, or a message whose decoding failed unexpectedly). */
  abandoned: number;
  /** Settlement calls that failed for good; those messages come back and are deduplicated. */
  settleFailures: number;
  /**
   * Refused messages that could not be dead-lettered by their last allowed delivery (dead-letter queue
   * unreachable or refusing them): removed, their Failed task keeping the body and the reason.
   */
  removedUndeliverable: number;
}

export interface PullResult extends IngestCounts {
  /** Set when the batch's bulk write failed (after retries); its messages were abandoned. */
  storeError?: string;
}

export interface PullUntilResult extends IngestCounts {
  batches: number;
  stoppedBecause: 'empty' | 'deadline' | 'store-failure' | 'aborted';
  storeError?: string;
}

/** Ingest counts with nothing counted yet. */
export const emptyIngestCounts = (): IngestCounts => ({
  received: 0,
  stored: 0,
  duplicates: 0,
  rejected: 0,
  deadLettered: 0,
  completed: 0,
  abandoned: 0,
  settleFailures: 0,
  removedUndeliverable: 0,
});

export interface PullOptions {
  /** Long-poll of the first receive (default Ingest:ReceiveWaitTime). */
  waitMs?: number;
  /**
   * Ends the long poll early (a host stopping): the pull then ingests nothing and returns. Messages
   * already received are ingested and settled as usual; it never interrupts a batch.
   */
  signal?: AbortSignal;
}

/** Pulls and ingests one batch. Never throws for a message's fault; a failing receive throws. */
export async function pullOnce(
  steps: IngestSteps,
  provider: QueueProvider,
  options: PullOptions = {},
): Promise<PullResult> {
  const messages = await receiveBatch(steps, provider, options.waitMs ?? steps.opts.receiveWaitMs, options.signal);
  const counts: PullResult = { ...emptyIngestCounts(), received: messages.length };
  if (messages.length === 0) return counts;

  const source = { provider: provider.kind, queue: provider.queueName };
  const prepared = await steps.prepare(
    messages.map((m) => ({
      id: m.id,
      body: m.body,
      deliveryCount: m.deliveryCount,
      ...(m.properties ? { properties: m.properties } : {}),
      ...(m.sessionId ? { sessionId: m.sessionId } : {}),
      queued: m,
    })),
    source,
  );

  let result: IngestResult;
  try {
    result = await steps.store(prepared.tasks);
  } catch (e) {
    const reason = describeError(e);
    steps.log.error('bulk write failed; giving the batch back for redelivery', {
      messages: messages.length,
      error: reason,
    });
    counts.storeError = reason;
    await settleEach(steps, prepared.items, counts, async (item) => {
      await provider.abandon(item.queued!, backoffOf(steps, item));
      counts.abandoned++;
    });
    return counts;
  }

  await settleEach(steps, prepared.items, counts, async (item) => {
    if (item.taskIndex === undefined) {
      // Decoding itself failed (timeout, bug): not the message's fault, so no dead letter.
      await provider.abandon(item.queued!, backoffOf(steps, item));
      counts.abandoned++;
      return;
    }
    if (item.rejection) {
      const settled = await deadLetterOrEnd(steps, provider, item, result.items[item.taskIndex]?.taskId);
      if (settled === 'dead-lettered') counts.deadLettered++;
      else if (settled === 'abandoned') counts.abandoned++;
      else counts.removedUndeliverable++;
    } else {
      await provider.complete(item.queued!);
      counts.completed++;
    }
  });

  for (const item of prepared.items) {
    if (item.taskIndex === undefined) continue;
    const stored = result.items[item.taskIndex]!;
    if (item.rejection) counts.rejected++;
    else if (stored.duplicate) counts.duplicates++;
    else counts.stored++;
  }
  await steps.notifyStored(counts.stored);
  steps.log.debug('batch ingested', { ...counts });
  return counts;
}

/** Pulls batches until the queue is empty, the deadline passes, or the store fails. */
export async function pullUntil(
  steps: IngestSteps,
  provider: QueueProvider,
  options: { deadline: Date | number; signal?: AbortSignal },
): Promise<PullUntilResult> {
  const deadline = typeof options.deadline === 'number' ? options.deadline : options.deadline.getTime();
  const total: PullUntilResult = { ...emptyIngestCounts(), batches: 0, stoppedBecause: 'deadline' };
  let first = true;
  while (true) {
    if (options.signal?.aborted) {
      total.stoppedBecause = 'aborted';
      break;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      total.stoppedBecause = 'deadline';
      break;
    }
    // Only the first pull waits: later ones stop the loop as soon as the queue is drained.
    const r = await pullOnce(steps, provider, {
      waitMs: first ? Math.min(steps.opts.receiveWaitMs, left) : 0,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    first = false;
    if (r.received === 0) {
      total.stoppedBecause = 'empty';
      break;
    }
    total.batches++;
    for (const k of Object.keys(emptyIngestCounts()) as (keyof IngestCounts)[]) total[k] += r[k];
    if (r.storeError) {
      total.stoppedBecause = 'store-failure';
      total.storeError = r.storeError;
      break;
    }
  }
  return total;
}

/** Fills a batch: the first receive may long-poll, the rest only take what is already there. */
async function receiveBatch(
  steps: IngestSteps,
  provider: QueueProvider,
  waitMs: number,
  signal: AbortSignal | undefined,
): Promise<QueueMessage[]> {
  const { batchSize } = steps.opts;
  const batch: QueueMessage[] = [];
  const seen = new Set<string>();
  while (batch.length < batchSize) {
    const want = batchSize - batch.length;
    let got: QueueMessage[];
    try {
      got = await steps.policies.receive.execute(
        () =>
          provider.receive({
            maxMessages: want,
            waitMs: batch.length === 0 ? waitMs : 0,
            ...(signal ? { signal } : {}),
          }),
        ownSignal(),
      );
    } catch (e) {
      if (batch.length === 0) throw e;
      steps.log.warn('a receive filling the batch failed; going on with what arrived', { error: describeError(e) });
      break;
    }
    const fresh = got.filter((m) => !seen.has(m.id));
    for (const m of fresh) seen.add(m.id);
    batch.push(...fresh);
    // Fewer than asked: the queue had no more just now. Another receive would come back empty and
    // delay the whole batch by a round trip. (A provider capped below the batch size, MNS at 16 or
    // Storage at 32, cuts the batch short; the next pull takes the rest at once.)
    if (fresh.length === 0 || got.length < want) break;
  }
  return batch;
}

/** Runs one settlement per message under the per-message policy; a failure is counted, never thrown. */
async function settleEach(
  steps: IngestSteps,
  items: Prepared[],
  counts: IngestCounts,
  settle: (item: Prepared) => Promise<void>,
): Promise<void> {
  await Promise.all(
    items.map(async (item) => {
      try {
        await steps.policies.perMessage.execute(() => settle(item), ownSignal());
      } catch (e) {
        counts.settleFailures++;
        steps.log.warn('settling a message failed; it will be redelivered and deduplicated', {
          messageId: item.message.id,
          error: describeError(e),
        });
      }
    }),
  );
}

/**
 * Dead-letters a refused message. When that fails, the message is given back (with backoff) so
 * dead-lettering is tried again on its next delivery; on its last allowed delivery it is removed instead:
 * its Failed task (stored before any settlement) keeps the body and the reason, so nothing is lost, and a
 * message the dead-letter queue cannot take no longer comes back forever.
 */
async function deadLetterOrEnd(
  steps: IngestSteps,
  provider: QueueProvider,
  item: Prepared,
  taskId: string | undefined,
): Promise<'dead-lettered' | 'abandoned' | 'removed'> {
  const rejection = item.rejection!;
  try {
    await provider.deadLetter(item.queued!, rejection.code, rejection.detail);
    return 'dead-lettered';
  } catch (e) {
    const where = {
      messageId: item.message.id,
      taskId,
      reason: rejection.code,
      deliveryCount: item.message.deliveryCount,
      error: describeError(e),
    };
    if (item.message.deliveryCount < (steps.opts.maxDeliveryCount ?? 5)) {
      steps.log.warn('dead-lettering a refused message failed; giving it back to try again', where);
      await provider.abandon(item.queued!, backoffOf(steps, item));
      return 'abandoned';
    }
    steps.log.error(
      'dead-lettering a refused message failed on its last delivery; removed (its Failed task keeps it)',
      where,
    );
    await provider.complete(item.queued!);
    return 'removed';
  }
}

/** Redelivery delay, exponential in the delivery count: a store that is down is not hammered by its own backlog. */
function backoffOf(steps: IngestSteps, item: Prepared): number {
  const { baseDelayMs, maxDelayMs } = steps.opts.retry;
  return redeliveryDelay(item.message.deliveryCount, { baseMs: baseDelayMs, capMs: maxDelayMs });
}
