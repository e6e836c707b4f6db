/**
 * The entities of the peer's namespace and how AMQP addresses name them:
 * `<queue>`, `<topic>`, `<topic>/Subscriptions/<sub>`, each store's `/$DeadLetterQueue`, and
 * `<any of those>/$management` for the request/response operations.
 */
import { randomUUID } from 'node:crypto';
import type { WireMessage } from './amqp-values.js';
import { PeerError } from './errors.js';
import { MessageStore, SequenceCounter, type StoreCounts } from './message-store.js';
import { storeSettings, type PeerEntityOptions, type PeerSubscriptionOptions } from './options.js';

const deadLetterSuffix = '/$DeadLetterQueue';
const managementSuffix = '/$management';

/** A queue or a subscription: its messages and its dead-letter sub-queue. */
export class QueueLike {
  readonly main: MessageStore;
  readonly deadLetter: MessageStore;

  constructor(path: string, options: PeerSubscriptionOptions) {
    const settings = storeSettings(options);
    this.deadLetter = new MessageStore(
      `${path}${deadLetterSuffix}`,
      { ...settings, requiresSession: false, maxDeliveryCount: Infinity },
      new SequenceCounter(),
    );
    this.main = new MessageStore(path, settings, new SequenceCounter(), this.deadLetter);
  }

  close(): void {
    this.main.close();
    this.deadLetter.close();
  }
}

/** A topic keeps scheduled messages itself and copies every message that is due to each subscription. */
export class Topic {
  readonly subscriptions = new Map<string, QueueLike>();
  private readonly sequence = new SequenceCounter();
  private readonly scheduled = new Map<number, NodeJS.Timeout>();

  constructor(readonly name: string) {}

  publish(message: WireMessage): number {
    const sequenceNumber = this.sequence.next();
    const at = message.message_annotations?.['x-opt-scheduled-enqueue-time'];
    const delay = at instanceof Date ? at.getTime() - Date.now() : 0;
    if (delay <= 0) {
      this.fanOut(message);
      return sequenceNumber;
    }
    this.validate(message);
    const timer = setTimeout(() => {
      this.scheduled.delete(sequenceNumber);
      this.fanOut(message);
    }, delay);
    timer.unref();
    this.scheduled.set(sequenceNumber, timer);
    return sequenceNumber;
  }

  cancelScheduled(sequenceNumber: number): boolean {
    const timer = this.scheduled.get(sequenceNumber);
    if (!timer) return false;
    clearTimeout(timer);
    this.scheduled.delete(sequenceNumber);
    return true;
  }

  close(): void {
    for (const t of this.scheduled.values()) clearTimeout(t);
    this.scheduled.clear();
    for (const s of this.subscriptions.values()) s.close();
  }

  private fanOut(message: WireMessage): void {
    this.validate(message);
    for (const sub of this.subscriptions.values()) {
      sub.main.enqueue({
        ...message,
        application_properties: message.application_properties && { ...message.application_properties },
        message_annotations: message.message_annotations && { ...message.message_annotations },
      });
    }
  }

  validate(message: WireMessage): void {
    for (const sub of this.subscriptions.values()) {
      if (sub.main.settings.requiresSession && typeof message.group_id !== 'string') {
        throw new PeerError(
          'amqp:not-allowed',
          `Subscription '${sub.main.path}' requires sessions: the message has no SessionId.`,
          400,
        );
      }
    }
  }
}

/** Where a message sent to an address goes. */
export type SendTarget = { kind: 'queue'; queue: QueueLike } | { kind: 'topic'; topic: Topic };

/** Refuses a message the target cannot take, before any of a batch is stored. */
export function checkSendable(target: SendTarget, message: WireMessage): void {
  if (target.kind === 'topic') target.topic.validate(message);
  else if (target.queue.main.settings.requiresSession && typeof message.group_id !== 'string') {
    throw new PeerError(
      'amqp:not-allowed',
      `The entity '${target.queue.main.path}' requires sessions: the message has no SessionId.`,
      400,
    );
  }
}

/** Stores a sent (or scheduled) message; returns its sequence number. */
export function sendTo(target: SendTarget, sent: WireMessage): number {
  // Service Bus gives every message an id (a dashless GUID) when the sender set none.
  const message = sent.message_id == null ? { ...sent, message_id: randomUUID().replace(/-/g, '') } : sent;
  return target.kind === 'queue' ? target.queue.main.enqueue(message).sequenceNumber : target.topic.publish(message);
}

export class PeerNamespace {
  private readonly queues = new Map<string, QueueLike>();
  private readonly topics = new Map<string, Topic>();
  private readonly stores = new Map<string, MessageStore>();

  constructor(entities: PeerEntityOptions[]) {
    for (const e of entities) this.add(e);
  }

  /** Creates a queue, or a topic with its subscriptions (what the infrastructure would have done). */
  add(e: PeerEntityOptions): void {
    if (this.sendTarget(e.name)) throw new Error(`service-bus peer: entity '${e.name}' already exists`);
    if ((e.kind ?? 'queue') === 'queue') {
      const q = new QueueLike(e.name, e);
      this.queues.set(key(e.name), q);
      this.addStores(q);
      return;
    }
    const topic = new Topic(e.name);
    for (const s of e.subscriptions ?? []) {
      const sub = new QueueLike(`${e.name}/Subscriptions/${s.name}`, s);
      topic.subscriptions.set(key(s.name), sub);
      this.addStores(sub);
    }
    this.topics.set(key(e.name), topic);
  }

  /** The queue or topic a sender link may target. */
  sendTarget(address: string): SendTarget | undefined {
    const q = this.queues.get(key(address));
    if (q) return { kind: 'queue', queue: q };
    const t = this.topics.get(key(address));
    return t ? { kind: 'topic', topic: t } : undefined;
  }

  /** The store a receive link reads: a queue, a subscription, or one of their dead-letter sub-queues. */
  store(address: string): MessageStore | undefined {
    return this.stores.get(key(address));
  }

  /** The entity path of a `<entity>/$management` address, when it is one. */
  static managedEntity(address: string): string | undefined {
    return address.toLowerCase().endsWith(managementSuffix.toLowerCase())
      ? address.slice(0, -managementSuffix.length)
      : undefined;
  }

  exists(path: string): boolean {
    return this.sendTarget(path) !== undefined || this.store(path) !== undefined;
  }

  counts(path: string): StoreCounts {
    const s = this.store(path);
    if (!s) throw new Error(`service-bus peer: no entity '${path}'`);
    return s.counts();
  }

  close(): void {
    for (const q of this.queues.values()) q.close();
    for (const t of this.topics.values()) t.close();
  }

  private addStores(q: QueueLike): void {
    this.stores.set(key(q.main.path), q.main);
    this.stores.set(key(q.deadLetter.path), q.deadLetter);
  }
}

// Service Bus entity names are case-insensitive.
function key(path: string): string {
  return path.replace(/^\/+|\/+$/g, '').toLowerCase();
}
