/**
 * Prefetch emulation (AzureServiceBus:PrefetchCount): after a receive that filled its request, up to
 * PrefetchCount more messages that are available at once are taken and kept here for the next
 * receive. Their locks are renewed like any received message's; one whose lock has (almost) run out is
 * dropped and the broker redelivers it. Closing hands what is left back at once. 0 turns it off.
 */
import type { ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';
import type { Logger } from '../../log/logger.js';

/** A prefetched message whose lock ends within this margin is not handed out. */
const lockSafetyMarginMs = 1000;

export class PrefetchBuffer {
  private readonly messages: ServiceBusReceivedMessage[] = [];

  constructor(
    private readonly prefetchCount: number,
    private readonly log: Logger,
    private readonly describeError: (e: unknown) => unknown,
  ) {}

  /** Up to `max` buffered messages whose locks still hold, oldest first. */
  take(max: number): ServiceBusReceivedMessage[] {
    const out: ServiceBusReceivedMessage[] = [];
    while (out.length < max && this.messages.length > 0) {
      const m = this.messages.shift()!;
      if (m.lockedUntilUtc && m.lockedUntilUtc.getTime() - Date.now() < lockSafetyMarginMs) {
        this.log.debug('dropping a prefetched message whose lock has run out; the broker redelivers it', {
          messageId: m.messageId,
        });
        continue;
      }
      out.push(m);
    }
    return out;
  }

  /** Fetches what is available now, without waiting, up to PrefetchCount buffered. A failure is only logged. */
  async topUp(receiver: ServiceBusReceiver): Promise<void> {
    const want = this.prefetchCount - this.messages.length;
    if (want <= 0) return;
    try {
      this.messages.push(...(await receiver.receiveMessages(want, { maxWaitTimeInMs: 0 })));
    } catch (e) {
      this.log.warn('prefetch failed', { error: this.describeError(e) });
    }
  }

  /**
   * Keeps messages a receive brought after its caller had stopped waiting (ReceiveOptions.signal), for
   * the next receive: ahead of the others, as they were received first.
   */
  keep(messages: ServiceBusReceivedMessage[]): void {
    this.messages.unshift(...messages);
  }

  /** Empties the buffer, for closing: abandoned, they are redelivered now rather than when their locks lapse. */
  drain(): ServiceBusReceivedMessage[] {
    return this.messages.splice(0);
  }
}
