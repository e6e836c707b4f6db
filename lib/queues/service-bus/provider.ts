/**
 * Azure Service Bus queue provider (`@azure/service-bus`, AMQP 1.0).
 *
 * Reads a queue (`QueueName`), or a topic subscription (`TopicName` + `SubscriptionName`) and sends to
 * its topic; QueueName wins when both are set. Receives in peek-lock mode, in batches; the SDK renews
 * message (and session) locks up to `MaxAutoLockRenewalDuration`. Authentication: see ./client.ts.
 *
 * Service-Bus-only operations are extra methods: defer / receiveDeferred, schedule / cancelScheduled,
 * acceptSession (FIFO sessions), renewLock and subscribe (push mode with MaxConcurrentCalls).
 *
 * Mapping notes:
 * - PrefetchCount: receive() takes messages already prefetched first; after a receive that filled its
 *   request, it asks for up to PrefetchCount more that are available at once and keeps them locally
 *   (their locks are renewed like any received message; expired ones are dropped, the broker redelivers).
 *   close() abandons what is still buffered. 0 turns prefetching off.
 * - abandon(message, delayMs): Service Bus has no delayed abandon. On a queue the message is re-sent as a
 *   scheduled copy (same id, deliveries so far carried in the `TaskmeshPriorDeliveries` property so
 *   DeliveryCount and MaxDeliveryCount keep counting) and the original completed. A subscription cannot be
 *   sent to alone, so there a delayed abandon is an immediate one.
 * - ensureQueues(): entities are made by the infrastructure. With the HTTPS management endpoint (Azure,
 *   Manage rights) missing entities are created; otherwise (development emulator, no Manage rights) it only
 *   checks that the entity answers, and fails with MessagingEntityNotFound when it does not.
 * - health(): see ./health.ts.
 */
import type { TokenCredential } from '@azure/identity';
import type {
  RetryOptions,
  ServiceBusAdministrationClient,
  ServiceBusClient,
  ServiceBusReceivedMessage,
  ServiceBusReceiver,
  ServiceBusReceiverOptions,
  ServiceBusSender,
  ServiceBusSessionReceiverOptions,
} from '@azure/service-bus';
import Long from 'long';
import { ConfigError } from '../../config/errors.js';
import type { AppConfig } from '../../config/load.js';
import { silentLogger, type Logger } from '../../log/logger.js';
import { QueueProviderError, type OutgoingMessage, type QueueHealth, type QueueMessage, type QueueProvider, type ReceiveOptions, type SendResult } from '../provider.js';
import { MessageTooLargeError, PartialBatchSendError, sendInBatches } from './batch-send.js';
import { createAdministrationClient, createServiceBusClient, resolveServiceBusAuth } from './client.js';
import { guard, providerError, providerKind, scrub, toProviderError, type ErrorContext } from './errors.js';
import { countByPeeking, runtimeCounts, type EntityNames, type RuntimeCounts } from './health.js';
import { ServiceBusHandle, resendable, toQueueMessage, toServiceBusMessage } from './messages.js';
import { ServiceBusSession } from './session.js';

export type ServiceBusSettings = AppConfig['AzureServiceBus'];

export interface ServiceBusProviderOptions {
  logger?: Logger;
  /** Credential for role-based access instead of DefaultAzureCredential (e.g. a ManagedIdentityCredential with a client id). */
  credential?: TokenCredential;
  /** The SDK's retry policy (attempts, delays, per-operation timeout); default: the SDK's. */
  retry?: RetryOptions;
  /** Use the HTTPS management endpoint for ensureQueues() and health(). Default: yes, except on the development emulator. */
  administration?: boolean;
  /** How many messages health() peeks at most when it has no management endpoint (default 1000). */
  healthPeekLimit?: number;
  /** Session entities: how long receive() waits on the current session before moving to the next one (default 1 s). */
  sessionIdleTimeoutMs?: number;
  /** How long close() waits for each SDK close step before going on (default 10 s). */
  closeTimeoutMs?: number;
}

interface Entity extends EntityNames {
  /** Where sends go: the queue or the topic. */
  sendTo: string;
  /** What is read: the queue or `<topic>/Subscriptions/<subscription>`. */
  path: string;
}

interface ProviderSettings {
  entity: Entity;
  maxConcurrentCalls: number;
  prefetchCount: number;
  maxAutoLockRenewalDurationMs: number;
  maxDeliveryCount: number;
  requiresSession: boolean;
  enablePartitioning: boolean;
  healthPeekLimit: number;
  sessionIdleTimeoutMs: number;
  closeTimeoutMs: number;
}

export interface SessionAcceptOptions {
  /** A given session; default: the next session with messages that no one holds. */
  sessionId?: string;
  /** Keep trying this long while no session is free (0: one attempt). */
  waitMs?: number;
}

export interface SubscribeOptions {
  /** Messages handled at once (default: MaxConcurrentCalls). */
  maxConcurrentCalls?: number;
  /** Receive-side failures (connection, lock renewal, settling); the subscription keeps running. */
  onError?: (error: Error) => void;
}

export interface Subscription {
  close(): Promise<void>;
}

type DeadLetterArgs = NonNullable<Parameters<ServiceBusReceiver['deadLetterMessage']>[1]>;

/** Largest dead-letter reason/description Service Bus stores. */
const maxDeadLetterTextLength = 4096;
/** A prefetched message whose lock ends within this margin is not handed out. */
const lockSafetyMarginMs = 1000;

export class ServiceBusQueueProvider implements QueueProvider {
  readonly kind = providerKind;
  readonly queueName: string;
  readonly deadLetterQueueName: string;

  private readonly log: Logger;
  private readonly prefetched: ServiceBusReceivedMessage[] = [];
  private readonly subscriptions = new Set<Subscription>();
  private readonly onMainReceiver = serial();
  private readonly onDeadLetterReceiver = serial();
  private readonly onSessions = serial();
  private mainReceiver?: ServiceBusReceiver;
  private deadLetterReceiver?: ServiceBusReceiver;
  private sender?: ServiceBusSender;
  private currentSession?: ServiceBusSession;
  private closing?: Promise<void>;

  constructor(
    private readonly client: ServiceBusClient,
    private readonly settings: ProviderSettings,
    private readonly admin: ServiceBusAdministrationClient | undefined,
    private readonly secrets: readonly string[],
    logger: Logger = silentLogger,
  ) {
    this.queueName = settings.entity.path;
    this.deadLetterQueueName = `${settings.entity.path}/$DeadLetterQueue`;
    this.log = logger.child({ provider: providerKind, queue: this.queueName });
  }

  async ensureQueues(): Promise<void> {
    const ctx = this.ctx('ensureQueues');
    this.assertOpen(ctx);
    if (this.admin) {
      try {
        await this.createMissingEntities(this.admin);
        return;
      } catch (e) {
        const status = (e as { statusCode?: unknown }).statusCode;
        if (status !== 401 && status !== 403) throw toProviderError(e, ctx);
        this.log.warn('no Manage rights on the namespace: not creating entities, only checking the entity is reachable');
      }
    }
    await guard(ctx, () => this.receiverFor('entity').peekMessages(1, { fromSequenceNumber: Long.ZERO }));
  }

  async receive(options: ReceiveOptions): Promise<QueueMessage[]> {
    const ctx = this.ctx('receive');
    this.assertOpen(ctx);
    checkReceiveOptions(options, ctx);
    if (this.settings.requiresSession) return this.receiveFromSessions(options);
    return this.onMainReceiver(async () => {
      const receiver = this.receiverFor('entity');
      const messages = this.takePrefetched(options.maxMessages);
      const need = options.maxMessages - messages.length;
      if (need > 0) {
        const got = await guard(ctx, () => receiver.receiveMessages(need, { maxWaitTimeInMs: messages.length > 0 ? 0 : options.waitMs }));
        messages.push(...got);
        // A full answer suggests more are waiting: fetch what is there now, without waiting.
        if (got.length === need) await this.topUpPrefetch(receiver);
      }
      return messages.map((m) => toQueueMessage(m, new ServiceBusHandle(m, receiver, 'entity')));
    });
  }

  async complete(message: QueueMessage): Promise<void> {
    const h = this.handleOf(message, 'complete');
    await guard(this.ctx('complete'), () => h.receiver.completeMessage(h.message));
    h.markSettled();
  }

  async abandon(message: QueueMessage, delayMs = 0): Promise<void> {
    const ctx = this.ctx('abandon');
    const h = this.handleOf(message, 'abandon');
    if (delayMs <= 0 || !this.settings.entity.queueName || h.source === 'dead-letter') {
      if (delayMs > 0) this.log.debug('delayed abandon is not possible on this entity; abandoning at once', { messageId: message.id, delayMs });
      await guard(ctx, () => h.receiver.abandonMessage(h.message));
      h.markSettled();
      return;
    }
    if (message.deliveryCount >= this.settings.maxDeliveryCount) {
      // What the broker does after the last allowed delivery; the re-sent copy would restart its count.
      await this.deadLetter(message, 'MaxDeliveryCountExceeded', `Message could not be consumed after ${message.deliveryCount} delivery attempts.`);
      return;
    }
    const sender = this.senderLink();
    const [sequenceNumber] = await guard(ctx, () => sender.scheduleMessages(resendable(h.message, message.deliveryCount), new Date(Date.now() + delayMs)));
    try {
      await h.receiver.completeMessage(h.message);
      h.markSettled();
    } catch (e) {
      // The original stays (its lock will lapse and it comes back): withdraw the copy so it is not delivered twice.
      if (sequenceNumber) await sender.cancelScheduledMessages(sequenceNumber).catch((err: unknown) => this.log.warn('could not withdraw the re-sent copy of an abandoned message', { messageId: message.id, error: err }));
      throw toProviderError(e, ctx);
    }
  }

  async deadLetter(message: QueueMessage, reason: string, description?: string): Promise<void> {
    const h = this.handleOf(message, 'deadLetter');
    // The SDK types both fields as required; an absent description is left out on the wire.
    const options = {
      deadLetterReason: reason.slice(0, maxDeadLetterTextLength),
      deadLetterErrorDescription: description?.slice(0, maxDeadLetterTextLength),
    } as DeadLetterArgs;
    await guard(this.ctx('deadLetter'), () => h.receiver.deadLetterMessage(h.message, options));
    h.markSettled();
  }

  async send(message: OutgoingMessage): Promise<SendResult> {
    const ctx = this.ctx('send');
    this.assertOpen(ctx);
    const sbMessage = this.outgoing(message, ctx);
    await guard(ctx, () => this.senderLink().sendMessages(sbMessage));
    return { id: sbMessage.messageId };
  }

  async sendBatch(messages: OutgoingMessage[]): Promise<SendResult[]> {
    const ctx = this.ctx('sendBatch');
    this.assertOpen(ctx);
    if (messages.length === 0) return [];
    const now = Date.now();
    const sbMessages = messages.map((m) => this.outgoing(m, ctx, now));
    try {
      const batches = await sendInBatches(this.senderLink(), sbMessages);
      this.log.debug('sent batch', { messages: sbMessages.length, batches });
    } catch (e) {
      if (e instanceof MessageTooLargeError) {
        throw providerError(`Service Bus sendBatch on '${this.queueName}' failed: ${e.message}; nothing was sent`, ctx, 'MessageSizeExceeded');
      }
      if (e instanceof PartialBatchSendError) {
        const inner = toProviderError(e.cause, ctx);
        throw new QueueProviderError(`${inner.message} (${e.message})`, inner.details, { cause: e.cause });
      }
      throw toProviderError(e, ctx);
    }
    return sbMessages.map((m) => ({ id: m.messageId }));
  }

  async receiveDeadLetters(options: ReceiveOptions): Promise<QueueMessage[]> {
    const ctx = this.ctx('receiveDeadLetters');
    this.assertOpen(ctx);
    checkReceiveOptions(options, ctx);
    return this.onDeadLetterReceiver(async () => {
      const receiver = this.receiverFor('dead-letter');
      const got = await guard(ctx, () => receiver.receiveMessages(options.maxMessages, { maxWaitTimeInMs: options.waitMs }));
      return got.map((m) => toQueueMessage(m, new ServiceBusHandle(m, receiver, 'dead-letter')));
    });
  }

  async completeDeadLetter(message: QueueMessage): Promise<void> {
    const h = this.handleOf(message, 'completeDeadLetter');
    if (h.source !== 'dead-letter') {
      throw providerError('completeDeadLetter needs a message received with receiveDeadLetters()', this.ctx('completeDeadLetter'), 'InvalidHandle');
    }
    await guard(this.ctx('completeDeadLetter'), () => h.receiver.completeMessage(h.message));
    h.markSettled();
  }

  async health(): Promise<QueueHealth> {
    const base = { provider: providerKind, queue: this.queueName };
    try {
      this.assertOpen(this.ctx('health'));
      const exact = this.admin ? await this.runtimeCountsIfAvailable(this.admin) : undefined;
      // The peek also proves the entity answers over AMQP; with exact counts the first message (the oldest) is enough.
      const peeked = await countByPeeking(this.receiverFor('entity'), exact ? 1 : this.settings.healthPeekLimit);
      const oldest = peeked.oldestActiveEnqueuedAt;
      const health: QueueHealth = { ...base, reachable: true, ...(oldest ? { oldestMessageAgeMs: Math.max(0, Date.now() - oldest.getTime()) } : {}) };
      if (exact) {
        return { ...health, depth: exact.active, deadLetterDepth: exact.deadLetter, ...(exact.scheduled !== undefined ? { delayed: exact.scheduled } : {}) };
      }
      const deadLetters = await countByPeeking(this.receiverFor('dead-letter'), this.settings.healthPeekLimit);
      return {
        ...health,
        ...(peeked.truncated ? {} : { depth: peeked.active, delayed: peeked.scheduled }),
        ...(deadLetters.truncated ? {} : { deadLetterDepth: deadLetters.active + deadLetters.deferred }),
      };
    } catch (e) {
      return { ...base, reachable: false, error: toProviderError(e, this.ctx('health')).message };
    }
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // ---- Service-Bus-only operations ----

  /** Sets a message aside; it is only received again by its sequence number (returned). */
  async defer(message: QueueMessage): Promise<bigint> {
    const h = this.handleOf(message, 'defer');
    await guard(this.ctx('defer'), () => h.receiver.deferMessage(h.message));
    h.markSettled();
    return sequenceNumberOf(h.message);
  }

  /** Receives deferred messages (peek-locked) by the sequence numbers `defer` returned. Session entities: use the session's. */
  async receiveDeferred(sequenceNumbers: bigint[]): Promise<QueueMessage[]> {
    const ctx = this.ctx('receiveDeferred');
    this.assertOpen(ctx);
    if (this.settings.requiresSession) {
      throw providerError('deferred messages of a session entity are received through their session (acceptSession().receiveDeferred)', ctx, 'InvalidOperation');
    }
    if (sequenceNumbers.length === 0) return [];
    const receiver = this.receiverFor('entity');
    const got = await guard(ctx, () => receiver.receiveDeferredMessages(sequenceNumbers.map(toLong)));
    return got.map((m) => toQueueMessage(m, new ServiceBusHandle(m, receiver, 'deferred')));
  }

  /** Schedules a message for `at`; returns its sequence number, for cancelScheduled. */
  async schedule(message: OutgoingMessage, at: Date): Promise<bigint> {
    const ctx = this.ctx('schedule');
    this.assertOpen(ctx);
    const sbMessage = this.outgoing({ ...message, delayMs: undefined, scheduledAt: undefined }, ctx);
    const [sequenceNumber] = await guard(ctx, () => this.senderLink().scheduleMessages(sbMessage, at));
    if (!sequenceNumber) throw providerError('Service Bus returned no sequence number for the scheduled message', ctx, 'GeneralError', true);
    return BigInt(sequenceNumber.toString());
  }

  async cancelScheduled(sequenceNumbers: bigint | bigint[]): Promise<void> {
    const ctx = this.ctx('cancelScheduled');
    this.assertOpen(ctx);
    const list = Array.isArray(sequenceNumbers) ? sequenceNumbers : [sequenceNumbers];
    if (list.length > 0) await guard(ctx, () => this.senderLink().cancelScheduledMessages(list.map(toLong)));
  }

  /** Extends a message's peek-lock by the entity's lock duration; returns the new expiry. */
  async renewLock(message: QueueMessage): Promise<Date> {
    const ctx = this.ctx('renewLock');
    const h = this.handleOf(message, 'renewLock');
    if (h.source === 'session') throw providerError('messages of a session are locked by the session: renew the session lock', ctx, 'InvalidOperation');
    return guard(ctx, () => h.receiver.renewMessageLock(h.message));
  }

  /**
   * Accepts a message session (FIFO within it). Returns undefined when none could be had within `waitMs`.
   * Against Azure, accepting the next session long-polls on the broker; that wait is capped at
   * max(waitMs, 1 s), the least a round trip needs.
   */
  async acceptSession(options: SessionAcceptOptions = {}): Promise<ServiceBusSession | undefined> {
    const ctx = this.ctx('acceptSession');
    this.assertOpen(ctx);
    const deadline = Date.now() + (options.waitMs ?? 0);
    for (;;) {
      const receiveOptions: ServiceBusSessionReceiverOptions = {
        receiveMode: 'peekLock',
        maxAutoLockRenewalDurationInMs: this.settings.maxAutoLockRenewalDurationMs,
        skipParsingBodyAsJson: true,
        abortSignal: AbortSignal.timeout(Math.max(deadline - Date.now(), 1000)),
      };
      try {
        const receiver = await this.acceptSessionReceiver(options.sessionId, receiveOptions);
        return new ServiceBusSession(receiver, { queue: this.queueName, secrets: this.secrets });
      } catch (e) {
        if (!noSessionAvailable(e)) throw toProviderError(e, ctx);
        const left = deadline - Date.now();
        if (left <= 0) return undefined;
        await sleep(Math.min(left, 200));
      }
    }
  }

  /**
   * Push mode: calls `handler` for each message, at most `maxConcurrentCalls` at once (the link's credit).
   * A message the handler did not settle itself is completed when it returns and abandoned when it throws.
   */
  subscribe(handler: (message: QueueMessage) => Promise<void>, options: SubscribeOptions = {}): Subscription {
    const ctx = this.ctx('subscribe');
    this.assertOpen(ctx);
    if (this.settings.requiresSession) throw providerError('subscribe() reads a non-session entity; use acceptSession() on session entities', ctx, 'InvalidOperation');
    const receiver = this.createReceiver(undefined);
    const handle = receiver.subscribe(
      {
        processMessage: async (m) => {
          const message = toQueueMessage(m, new ServiceBusHandle(m, receiver, 'entity'));
          // Throwing hands the message back to the SDK, which abandons it and reports to processError.
          await handler(message);
          if (!(message.handle as ServiceBusHandle).settled) await this.complete(message);
        },
        processError: async (args) => {
          const error = toProviderError(args.error, { ...ctx, operation: `subscribe:${args.errorSource}` });
          this.log.warn('subscription error', { error, source: args.errorSource });
          options.onError?.(error);
        },
      },
      { maxConcurrentCalls: options.maxConcurrentCalls ?? this.settings.maxConcurrentCalls, autoCompleteMessages: false },
    );
    const subscription: Subscription = {
      close: async () => {
        this.subscriptions.delete(subscription);
        await handle.close().catch(() => undefined);
        await receiver.close().catch(() => undefined);
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  // ---- internals ----

  private async receiveFromSessions(options: ReceiveOptions): Promise<QueueMessage[]> {
    return this.onSessions(async () => {
      const deadline = Date.now() + options.waitMs;
      for (;;) {
        this.currentSession ??= await this.acceptSession({ waitMs: Math.max(0, deadline - Date.now()) });
        const session = this.currentSession;
        if (!session) return [];
        // A session that stays quiet this long is taken as drained, so one session cannot hold up the others.
        const waitMs = Math.max(0, Math.min(deadline - Date.now(), this.settings.sessionIdleTimeoutMs));
        const messages = await session.receive({ maxMessages: options.maxMessages, waitMs });
        if (messages.length > 0) return messages;
        // This session is drained: let it go (once its messages are settled) and try the next one.
        this.currentSession = undefined;
        session.closeWhenSettled();
        if (Date.now() >= deadline) return [];
      }
    });
  }

  private acceptSessionReceiver(sessionId: string | undefined, options: ServiceBusSessionReceiverOptions) {
    const e = this.settings.entity;
    if (sessionId !== undefined) {
      return e.queueName ? this.client.acceptSession(e.queueName, sessionId, options) : this.client.acceptSession(e.topicName!, e.subscriptionName!, sessionId, options);
    }
    return e.queueName ? this.client.acceptNextSession(e.queueName, options) : this.client.acceptNextSession(e.topicName!, e.subscriptionName!, options);
  }

  private async createMissingEntities(admin: ServiceBusAdministrationClient): Promise<void> {
    const { entity, maxDeliveryCount, requiresSession, enablePartitioning } = this.settings;
    if (entity.queueName) {
      if (!(await admin.queueExists(entity.queueName))) {
        await admin.createQueue(entity.queueName, { maxDeliveryCount, requiresSession, enablePartitioning });
        this.log.info('created queue', { queue: entity.queueName });
      }
      return;
    }
    if (!(await admin.topicExists(entity.topicName!))) {
      await admin.createTopic(entity.topicName!, { enablePartitioning });
      this.log.info('created topic', { topic: entity.topicName });
    }
    if (!(await admin.subscriptionExists(entity.topicName!, entity.subscriptionName!))) {
      await admin.createSubscription(entity.topicName!, entity.subscriptionName!, { maxDeliveryCount, requiresSession });
      this.log.info('created subscription', { topic: entity.topicName, subscription: entity.subscriptionName });
    }
  }

  private async runtimeCountsIfAvailable(admin: ServiceBusAdministrationClient): Promise<RuntimeCounts | undefined> {
    try {
      return await runtimeCounts(admin, this.settings.entity);
    } catch (e) {
      this.log.debug('runtime properties unavailable; counting by peeking', { error: toProviderError(e, this.ctx('health')) });
      return undefined;
    }
  }

  private takePrefetched(max: number): ServiceBusReceivedMessage[] {
    const out: ServiceBusReceivedMessage[] = [];
    while (out.length < max && this.prefetched.length > 0) {
      const m = this.prefetched.shift()!;
      if (m.lockedUntilUtc && m.lockedUntilUtc.getTime() - Date.now() < lockSafetyMarginMs) {
        this.log.debug('dropping a prefetched message whose lock has run out; the broker redelivers it', { messageId: m.messageId });
        continue;
      }
      out.push(m);
    }
    return out;
  }

  private async topUpPrefetch(receiver: ServiceBusReceiver): Promise<void> {
    const want = this.settings.prefetchCount - this.prefetched.length;
    if (want <= 0) return;
    try {
      this.prefetched.push(...(await receiver.receiveMessages(want, { maxWaitTimeInMs: 0 })));
    } catch (e) {
      this.log.warn('prefetch failed', { error: toProviderError(e, this.ctx('prefetch')) });
    }
  }

  private outgoing(message: OutgoingMessage, ctx: ErrorContext, now?: number) {
    try {
      return toServiceBusMessage(message, now);
    } catch (e) {
      throw providerError(`Service Bus ${ctx.operation} on '${this.queueName}': ${(e as Error).message}`, ctx, 'InvalidMessage');
    }
  }

  private receiverFor(kind: 'entity' | 'dead-letter'): ServiceBusReceiver {
    if (kind === 'entity') return (this.mainReceiver ??= this.createReceiver(undefined));
    return (this.deadLetterReceiver ??= this.createReceiver('deadLetter'));
  }

  private createReceiver(subQueueType: 'deadLetter' | undefined): ServiceBusReceiver {
    const options: ServiceBusReceiverOptions = {
      receiveMode: 'peekLock',
      maxAutoLockRenewalDurationInMs: this.settings.maxAutoLockRenewalDurationMs,
      skipParsingBodyAsJson: true,
      ...(subQueueType ? { subQueueType } : {}),
    };
    const e = this.settings.entity;
    return e.queueName ? this.client.createReceiver(e.queueName, options) : this.client.createReceiver(e.topicName!, e.subscriptionName!, options);
  }

  private senderLink(): ServiceBusSender {
    return (this.sender ??= this.client.createSender(this.settings.entity.sendTo));
  }

  private handleOf(message: QueueMessage, operation: string): ServiceBusHandle {
    const ctx = this.ctx(operation);
    this.assertOpen(ctx);
    if (!(message.handle instanceof ServiceBusHandle)) throw providerError(`${operation}: the message was not received from Service Bus`, ctx, 'InvalidHandle');
    return message.handle;
  }

  private ctx(operation: string): ErrorContext {
    return { queue: this.queueName, operation, secrets: this.secrets };
  }

  private assertOpen(ctx: ErrorContext): void {
    if (this.closing) throw providerError(`Service Bus ${ctx.operation} on '${this.queueName}': the provider is closed`, ctx, 'Closed');
  }

  private async shutdown(): Promise<void> {
    // Each step is bounded: when the connection has dropped, the SDK's link close can wait on an answer
    // that never comes (rhea-promise drops the pending close on disconnect), and close() must still end.
    const step = (what: string, p: Promise<unknown> | undefined) =>
      within(p?.catch((e: unknown) => this.log.warn(`closing: ${what} failed`, { error: scrub(String(e), this.secrets) })), this.settings.closeTimeoutMs).then((done) => {
        if (!done) this.log.warn(`closing: ${what} did not finish in time; going on`);
      });
    for (const s of [...this.subscriptions]) await step('subscription', s.close());
    const receiver = this.mainReceiver;
    // Hand prefetched messages back so they are redelivered now rather than when their locks lapse.
    const buffered = this.prefetched.splice(0);
    if (receiver && buffered.length > 0) await step('abandoning prefetched messages', Promise.all(buffered.map((m) => receiver.abandonMessage(m))));
    await step('session', this.currentSession?.close());
    for (const link of [this.mainReceiver, this.deadLetterReceiver, this.sender]) await step('link', link?.close());
    await step('client', this.client.close());
  }
}

/**
 * Builds the provider from the `AzureServiceBus` configuration section. Throws ConfigError when the
 * section names no entity or no way to authenticate (see ./client.ts).
 */
export function createServiceBusProvider(config: ServiceBusSettings, opts: ServiceBusProviderOptions = {}): ServiceBusQueueProvider {
  const auth = resolveServiceBusAuth(config, opts.credential);
  const entity = entityOf(config);
  const client = createServiceBusClient(auth, opts.retry ? { retryOptions: opts.retry } : {});
  const admin = opts.administration === false ? undefined : createAdministrationClient(auth);
  return new ServiceBusQueueProvider(
    client,
    {
      entity,
      maxConcurrentCalls: config.MaxConcurrentCalls,
      prefetchCount: config.PrefetchCount,
      maxAutoLockRenewalDurationMs: config.MaxAutoLockRenewalDuration,
      maxDeliveryCount: config.MaxDeliveryCount,
      requiresSession: config.RequiresSession,
      enablePartitioning: config.EnablePartitioning,
      healthPeekLimit: opts.healthPeekLimit ?? 1000,
      sessionIdleTimeoutMs: opts.sessionIdleTimeoutMs ?? 1000,
      closeTimeoutMs: opts.closeTimeoutMs ?? 10_000,
    },
    admin,
    auth.secrets,
    opts.logger,
  );
}

function entityOf(config: ServiceBusSettings): Entity {
  if (config.QueueName) return { queueName: config.QueueName, sendTo: config.QueueName, path: config.QueueName };
  if (config.TopicName && config.SubscriptionName) {
    return {
      topicName: config.TopicName,
      subscriptionName: config.SubscriptionName,
      sendTo: config.TopicName,
      path: `${config.TopicName}/Subscriptions/${config.SubscriptionName}`,
    };
  }
  throw new ConfigError([
    {
      key: 'AzureServiceBus:QueueName',
      envVar: 'AzureServiceBus__QueueName',
      given: '(nothing)',
      expected: 'a queue name, or TopicName and SubscriptionName',
      source: 'default',
    },
    ...(config.TopicName
      ? [{ key: 'AzureServiceBus:SubscriptionName', envVar: 'AzureServiceBus__SubscriptionName', given: '(nothing)', expected: `a subscription of topic '${config.TopicName}'`, source: 'default' as const }]
      : []),
  ]);
}

function checkReceiveOptions(options: ReceiveOptions, ctx: ErrorContext): void {
  if (!Number.isInteger(options.maxMessages) || options.maxMessages < 1) {
    throw providerError(`Service Bus ${ctx.operation}: maxMessages must be a whole number >= 1 (got ${String(options.maxMessages)})`, ctx, 'InvalidArgument');
  }
  if (!(options.waitMs >= 0)) throw providerError(`Service Bus ${ctx.operation}: waitMs must be >= 0 (got ${String(options.waitMs)})`, ctx, 'InvalidArgument');
}

/** No session to be had right now: the broker timed out the accept, or the session is held elsewhere. */
function noSessionAvailable(e: unknown): boolean {
  const code = (e as { code?: unknown; name?: unknown }).code;
  return code === 'SessionCannotBeLocked' || code === 'ServiceTimeout' || (e as { name?: unknown }).name === 'AbortError';
}

function sequenceNumberOf(m: ServiceBusReceivedMessage): bigint {
  return BigInt(m.sequenceNumber?.toString() ?? '0');
}

function toLong(n: bigint): Long {
  return Long.fromString(n.toString());
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits for `p` at most `ms`; true when it settled in time. The timer does not keep the process alive. */
async function within(p: Promise<unknown> | undefined, ms: number): Promise<boolean> {
  if (!p) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs calls one after another (an SDK receiver takes one receiveMessages at a time). */
function serial() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}
