/**
 * The queue-provider contract: the original .NET design's IMessageQueueService in TypeScript.
 *
 * Every provider (Alibaba MNS, Azure Storage Queue, Azure Service Bus, ...) implements this one
 * interface and passes the one conformance suite in test/queues/conformance.ts. Ingest code only
 * ever talks to this interface.
 */

/** A received message, the same shape whatever the provider. */
export interface QueueMessage {
  /** The provider's message id (stable across redeliveries). */
  id: string;
  /** The body as text, exactly as sent (UTF-8). */
  body: string;
  /** How many times this message has been delivered, this delivery included (1 on first receipt). */
  deliveryCount: number;
  /** When the message was first enqueued. */
  enqueuedAt: Date;
  /** Optional application properties / user attributes, when the provider has them. */
  properties?: Record<string, string | number | boolean>;
  /** Session id, for providers with sessions. */
  sessionId?: string;
  /** Opaque per-delivery handle (receipt handle, pop receipt, lock token). Only its provider reads it. */
  handle: unknown;
}

export interface OutgoingMessage {
  body: string;
  /** Deliver no earlier than this many milliseconds from now. */
  delayMs?: number;
  /** Deliver no earlier than this time (wins over delayMs). */
  scheduledAt?: Date;
  properties?: Record<string, string | number | boolean>;
  sessionId?: string;
  messageId?: string;
}

export interface ReceiveOptions {
  /** At most this many messages (providers cap it at their own maximum). */
  maxMessages: number;
  /** Long-poll: wait up to this long for the first message. 0 returns at once. */
  waitMs: number;
}

export interface QueueHealth {
  provider: string;
  queue: string;
  /** Messages waiting (visible), when the provider can tell. */
  depth?: number;
  /** Messages in flight (received, not yet settled), when the provider can tell. */
  inFlight?: number;
  /** Messages scheduled/delayed, when the provider can tell. */
  delayed?: number;
  deadLetterDepth?: number;
  oldestMessageAgeMs?: number;
  /** False when the provider could not be reached; `error` says why (no secrets). */
  reachable: boolean;
  error?: string;
}

export interface SendResult {
  id: string;
}

export interface QueueProvider {
  /** Provider kind, e.g. "mns", "storage-queue", "service-bus". */
  readonly kind: string;
  /** Queue (or entity) name this instance reads and writes. */
  readonly queueName: string;
  /** Dead-letter queue name (or path). */
  readonly deadLetterQueueName: string;

  /** Creates the queue and its dead-letter queue when they are missing. Idempotent. */
  ensureQueues(): Promise<void>;
  receive(options: ReceiveOptions): Promise<QueueMessage[]>;
  /** Removes a message for good (processed). */
  complete(message: QueueMessage): Promise<void>;
  /** Gives a message back, visible again after `delayMs` (0 = at once). */
  abandon(message: QueueMessage, delayMs?: number): Promise<void>;
  /** Moves a message to the dead-letter queue with its reason; it leaves the main queue. */
  deadLetter(message: QueueMessage, reason: string, description?: string): Promise<void>;
  send(message: OutgoingMessage): Promise<SendResult>;
  sendBatch(messages: OutgoingMessage[]): Promise<SendResult[]>;
  /**
   * Reads messages from the dead-letter queue (for replay and inspection). The reason and description
   * given to `deadLetter` are readable in `properties` under DEAD_LETTER_REASON_PROPERTY and
   * DEAD_LETTER_DESCRIPTION_PROPERTY (Service Bus's own application-property names).
   */
  receiveDeadLetters(options: ReceiveOptions): Promise<QueueMessage[]>;
  /** Settles a message received from the dead-letter queue (removes it there). */
  completeDeadLetter(message: QueueMessage): Promise<void>;
  health(): Promise<QueueHealth>;
  close(): Promise<void>;
}

/** Property of a dead-lettered message holding the reason given to `deadLetter` (as Service Bus names it). */
export const DEAD_LETTER_REASON_PROPERTY = 'DeadLetterReason';
/** Property of a dead-lettered message holding the description given to `deadLetter`. */
export const DEAD_LETTER_DESCRIPTION_PROPERTY = 'DeadLetterErrorDescription';

/** A provider call failed; `transient` tells the caller whether retrying can help. */
export class QueueProviderError extends Error {
  constructor(
    message: string,
    readonly details: { provider: string; queue: string; operation: string; code?: string; transient: boolean },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'QueueProviderError';
  }
}
