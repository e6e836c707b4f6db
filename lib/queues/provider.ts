/**
 * The queue-provider contract: the original .NET design's IMessageQueueService in TypeScript.
 *
 * Every provider (Alibaba MNS, Azure Storage Queue, Azure Service Bus, ...) implements QueueProvider
 * and passes the one conformance suite in test/queues/conformance.ts. Ingest and the admin API only
 * ever talk to this interface. docs/adding-a-queue-provider.md walks through adding one.
 *
 * What a provider must do, may emulate, or may declare unsupported:
 *
 * Required of every provider (natively or emulated; the conformance suite checks each, always):
 * - At-least-once delivery: a message is delivered until it is completed or dead-lettered; a message
 *   held by one receiver is not handed to another while it is held.
 * - Bodies round-trip intact (UTF-8 text, XML-special characters, CR/LF, non-ASCII); ids are unique per
 *   message and stable across its redeliveries; `enqueuedAt` is a valid time; `deliveryCount` >= 1.
 * - `receive` returns at most `maxMessages`, more than one when that many wait (a provider whose
 *   service hands out one message a call loops), and [] at once on an empty queue with `waitMs` 0.
 * - A receive still waiting for its first message returns [] soon after its `signal` aborts (so a host
 *   stops without sitting out a long poll), and loses no message doing so: one that arrives anyway is
 *   returned, or given back / kept for the next receive (natively, or emulated by racing the wait).
 * - `complete` removes a message for good; `abandon(message, 0)` gives it back for redelivery.
 * - `deadLetter` moves a message to the dead-letter queue, its reason and description readable there
 *   (`DEAD_LETTER_REASON_PROPERTY`, `DEAD_LETTER_DESCRIPTION_PROPERTY`); a provider whose messages carry
 *   no properties emulates this with the dead-letter envelope (dead-letter-envelope.ts).
 * - Redeliveries are bounded: past its maximum delivery count a message goes to the dead-letter queue
 *   (the service's own setting, or emulated on receive and abandon as MNS and Storage Queue do).
 * - `ensureQueues` is idempotent; `health` never throws (unreachable is `reachable: false`); a second
 *   `close` is harmless.
 *
 * May be emulated (declared as a capability; checked exactly like a native one):
 * - long polling (Storage Queue polls with a growing pause), a delayed abandon (Service Bus re-sends a
 *   scheduled copy), scheduled delivery, prefetching, the dead-letter reason (the envelope).
 *
 * May be declared unsupported (capability false; the suite then checks only the weaker guarantee
 * written beside each capability in QueueCapabilities): exact delivery counts, visibility timeouts,
 * queue depth, dead-letter depth, long polling, scheduled delivery, sessions.
 */
import type { QueueProviderName, QueueProviderSettings } from '../config/sections/queue-providers.js';
import type { Logger } from '../log/logger.js';
import type { RedeliveryBackoff } from './redelivery.js';

/**
 * What a provider instance does beyond the required behaviours. Declared per instance, because some
 * depend on the entity (a Service Bus subscription cannot re-send a delayed copy; sessions exist only
 * on a session-enabled entity).
 */
export interface QueueCapabilities {
  /**
   * `deliveryCount` is exact: 1 on first receipt, one more on each redelivery. Without it, it is at
   * least 1 and may stay 1 (e.g. a broker that only flags "redelivered").
   */
  exactDeliveryCount: boolean;
  /**
   * A received message stays hidden for a time of the provider's choosing: `abandon(message, delayMs)`
   * keeps it invisible for about `delayMs` before it comes back (a visibility timeout, or emulated by
   * a scheduled copy). Without it, a delayed abandon gives the message back at once.
   */
  visibilityTimeout: boolean;
  /** `health().depth` counts the messages waiting. Without it, `depth` may be left out. */
  depth: boolean;
  /**
   * `health().deadLetterDepth` counts the messages in the dead-letter queue (all of them: waiting,
   * delayed and in flight there). Operators watch it (GET /queues, the dashboard, `taskctl queues`,
   * the taskmesh.queue.dead_letter.depth gauge): a growing number means messages are being refused or
   * poisoned. Without it, it may be left out.
   */
  deadLetterDepth: boolean;
  /**
   * `receive` waits up to `waitMs` for the first message and returns as soon as one arrives (native, or
   * emulated by polling). Without it, `waitMs` is a hint and a receive may return [] early.
   */
  longPolling: boolean;
  /**
   * `delayMs` and `scheduledAt` of a sent message are honoured: it is not delivered before its time.
   * Without it, a send that asks for a delay is refused (QueueProviderError, code 'Unsupported'): a
   * message delivered early could run a task before its time.
   */
  scheduledDelivery: boolean;
  /**
   * The provider reads a session-enabled entity: a message sent with a `sessionId` is received with
   * it, in order within its session. Without it, `sessionId` is not carried.
   */
  sessions: boolean;
}

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
  /**
   * Ends the wait early: when it aborts while the receive is still waiting for a first message, the
   * receive returns [] promptly (an already aborted signal: no wait). Messages already received are
   * returned as usual, never dropped or held back; one the service hands out after the caller got its
   * [] is given back or kept for the next receive, never lost. Settling stays the caller's.
   */
  signal?: AbortSignal;
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
  /**
   * Messages in the dead-letter queue (waiting, delayed or in flight there), when the provider can tell
   * (capabilities.deadLetterDepth). A growing number means messages are being refused or poisoned.
   */
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
  /** Provider kind, e.g. "mns", "storage-queue", "service-bus" (its Ingest:Provider name). */
  readonly kind: string;
  /** What it does beyond the required behaviours (see QueueCapabilities). */
  readonly capabilities: QueueCapabilities;
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

/**
 * What a provider's folder exports from its index.ts as `queueProvider`: how to build the provider from
 * its settings section. The factory (factory.ts) loads the folder of the selected provider only.
 */
export interface QueueProviderDefinition<N extends QueueProviderName> {
  readonly name: N;
  create(settings: QueueProviderSettings<N>, options: QueueProviderCreateOptions<N>): QueueProvider;
}

/** What every provider is built with, besides its own settings section. */
export interface QueueProviderCreateOptions<N extends QueueProviderName> {
  /**
   * Which queue: the ingest queue, or the dispatch queue that wakes processors (always a storage-queue
   * provider, on AzureStorage:DispatchQueueName; other providers only ever get 'ingest').
   */
  queue: 'ingest' | 'dispatch';
  /** Another queue of the same provider and settings (the task dead-letter queue, DeadLetter:Queue). */
  queueName?: string;
  /** How long a received message stays hidden (Ingest:VisibilityTimeout, else MessageTimeout + 30 s). */
  visibilityTimeoutMs: number;
  /** Backoff of an abandon without an explicit delay (Ingest:RetryBaseDelay, Ingest:RetryMaxDelay). */
  redelivery: RedeliveryBackoff;
  /** Deliveries before a message is dead-lettered (Ingest:MaxDeliveryCount), for providers without their own. */
  maxDeliveryCount: number;
  logger?: Logger;
  extras?: QueueProviderExtras[N & keyof QueueProviderExtras];
}

/**
 * Options only one provider understands, by provider name, given by the host that has them (e.g. MNS:
 * Function Compute's per-invocation credentials). A provider with such options adds its entry from its
 * own folder (`declare module '../provider.js' { interface QueueProviderExtras { ... } }`).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by the providers (declaration merging)
export interface QueueProviderExtras {}
