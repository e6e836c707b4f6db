/**
 * Our sending end of a client's receive link on a queue, subscription or dead-letter sub-queue:
 * credit accounting, drain, peek-lock deliveries (lock token as delivery tag, broker annotations) and
 * the four settlement outcomes the SDK sends.
 */
import rhea from 'rhea';
import type { EventContext, Sender } from 'rhea';
import { lockTokenToDeliveryTag, wrapLong, type WireMessage } from './amqp-values.js';
import { PeerError } from './errors.js';
import type { Disposition, MessageStore, StoreConsumer, StoredMessage } from './message-store.js';
import { answerDrainEvenWithoutCredit, creditLimit, rejectedOutcome, settleAndForget } from './rhea-internals.js';

const deadLetterCondition = 'com.microsoft:dead-letter';

/** The message as a receiver gets it: the sent message plus the broker's annotations and delivery count. */
export function deliveredMessage(m: StoredMessage, purpose: 'receive' | 'peek'): WireMessage {
  const annotations: Record<string, unknown> = {
    ...(m.message.message_annotations ?? {}),
    'x-opt-sequence-number': wrapLong(m.sequenceNumber),
    'x-opt-enqueued-time': m.enqueuedAt,
  };
  if (m.lock) annotations['x-opt-locked-until'] = m.lock.lockedUntil;
  if (m.state !== 'active') annotations['x-opt-message-state'] = m.state === 'deferred' ? 1 : 2;
  // The header carries previous attempts (Service Bus' DeliveryCount - 1); a peek shows the count so far.
  const previous = purpose === 'receive' ? m.deliveryCount - 1 : m.deliveryCount;
  return { ...m.message, delivery_count: Math.max(0, previous), message_annotations: annotations };
}

export class DeliveryLink implements StoreConsumer {
  private limit = 0;
  private sent = 0;
  private readonly unsettled = new Map<number, string>();

  constructor(
    private readonly sender: Sender,
    private readonly store: MessageStore,
    /** receiveAndDelete: deliveries go out settled and the message is gone at once. */
    private readonly presettled: boolean,
    /** The session this link holds; set once the session is accepted. */
    public sessionId: string | undefined,
  ) {
    answerDrainEvenWithoutCredit(sender);
    sender.on('sender_flow', () => {
      this.limit = creditLimit(sender);
      this.store.pump();
    });
    sender.on('sender_draining', () => {
      // Everything deliverable went out on the flow; the rest of the credit is used up by the echo.
      this.sent = this.limit;
      sender.set_drained(true);
    });
    sender.on('accepted', (c: EventContext) => this.onOutcome(c, { kind: 'complete' }));
    sender.on('released', (c: EventContext) => this.onOutcome(c, { kind: 'release' }));
    sender.on('modified', (c: EventContext) => {
      const state = c.delivery?.remote_state as
        { undeliverable_here?: boolean; message_annotations?: Record<string, unknown> } | undefined;
      const properties = state?.message_annotations ?? undefined;
      this.onOutcome(c, state?.undeliverable_here ? { kind: 'defer', properties } : { kind: 'abandon', properties });
    });
    sender.on('rejected', (c: EventContext) => {
      const error = (
        c.delivery?.remote_state as
          { error?: { condition?: string; description?: string; info?: Record<string, unknown> } } | undefined
      )?.error;
      const { DeadLetterReason, DeadLetterErrorDescription, ...rest } = error?.info ?? {};
      const reason =
        typeof DeadLetterReason === 'string'
          ? DeadLetterReason
          : error?.condition === deadLetterCondition
            ? undefined
            : error?.condition;
      const description =
        typeof DeadLetterErrorDescription === 'string' ? DeadLetterErrorDescription : error?.description;
      this.onOutcome(c, { kind: 'deadLetter', info: { reason, description, properties: rest } });
    });
  }

  capacity(): number {
    return this.sender.is_open() ? this.limit - this.sent : 0;
  }

  deliver(m: StoredMessage): void {
    const token = m.lock!.token;
    const delivery = this.sender.send(
      rhea.message.encode(deliveredMessage(m, 'receive')),
      lockTokenToDeliveryTag(token),
      0,
    );
    this.sent++;
    if (this.presettled) this.store.settle(token, { kind: 'complete' });
    else this.unsettled.set(delivery.id, token);
  }

  sessionLost(): void {
    this.sender.close({
      condition: 'com.microsoft:session-lock-lost',
      description: `The session lock has expired on the session '${this.sessionId}'.`,
    });
  }

  private onOutcome(context: EventContext, disposition: Disposition): void {
    const delivery = context.delivery;
    if (!delivery) return;
    const token = this.unsettled.get(delivery.id);
    this.unsettled.delete(delivery.id);
    try {
      if (token === undefined)
        throw new PeerError('com.microsoft:message-lock-lost', 'The delivery is not known on this link.', 410);
      this.store.settle(token, disposition);
      settleAndForget(delivery);
    } catch (e) {
      settleAndForget(
        delivery,
        rejectedOutcome(e instanceof PeerError ? e : new PeerError('amqp:internal-error', String(e), 500)),
      );
    }
  }
}
