/**
 * The provider's connections: the AMQP client and the links it opens lazily (the entity's receiver, its
 * dead-letter receiver, the sender), the management client that makes the entity exist, the error
 * context of each call, and closing all of it, each step bounded in time.
 */
import type {
  ServiceBusAdministrationClient,
  ServiceBusClient,
  ServiceBusReceiver,
  ServiceBusReceiverOptions,
  ServiceBusSender,
  ServiceBusSessionReceiverOptions,
} from '@azure/service-bus';
import type { Logger } from '../../log/logger.js';
import type { OutgoingMessage, QueueMessage } from '../provider.js';
import { within } from '../toolkit.js';
import Long from 'long';
import { createMissingEntities, type Entity, type EntityProperties } from './entities.js';
import { guard, providerError, scrub, toProviderError, type ErrorContext } from './errors.js';
import { ServiceBusHandle, toServiceBusMessage } from './messages.js';

export interface ProviderSettings extends EntityProperties {
  entity: Entity;
  maxConcurrentCalls: number;
  prefetchCount: number;
  maxAutoLockRenewalDurationMs: number;
  healthPeekLimit: number;
  sessionIdleTimeoutMs: number;
  closeTimeoutMs: number;
}

export class ServiceBusLinks {
  readonly path: string;
  private mainReceiver?: ServiceBusReceiver;
  private deadLetterReceiver?: ServiceBusReceiver;
  private sender?: ServiceBusSender;
  private closing = false;

  constructor(
    readonly client: ServiceBusClient,
    readonly settings: ProviderSettings,
    readonly admin: ServiceBusAdministrationClient | undefined,
    readonly secrets: readonly string[],
    readonly log: Logger,
  ) {
    this.path = settings.entity.path;
  }

  ctx(operation: string): ErrorContext {
    return { queue: this.path, operation, secrets: this.secrets };
  }

  get closed(): boolean {
    return this.closing;
  }

  assertOpen(ctx: ErrorContext): void {
    if (this.closing)
      throw providerError(`Service Bus ${ctx.operation} on '${this.path}': the provider is closed`, ctx, 'Closed');
  }

  /** The handle of a message this provider received, for settling it. */
  handleOf(message: QueueMessage, operation: string): ServiceBusHandle {
    const ctx = this.ctx(operation);
    this.assertOpen(ctx);
    if (!(message.handle instanceof ServiceBusHandle))
      throw providerError(`${operation}: the message was not received from Service Bus`, ctx, 'InvalidHandle');
    return message.handle;
  }

  /**
   * ensureQueues(): with the HTTPS management endpoint (Azure, Manage rights) missing entities are
   * created; otherwise (development emulator, no Manage rights) it only checks that the entity answers,
   * and fails with MessagingEntityNotFound when it does not.
   */
  async ensureEntity(): Promise<void> {
    const ctx = this.ctx('ensureQueues');
    this.assertOpen(ctx);
    if (this.admin) {
      try {
        await createMissingEntities(this.admin, this.settings.entity, this.settings, this.log);
        return;
      } catch (e) {
        const status = (e as { statusCode?: unknown }).statusCode;
        if (status !== 401 && status !== 403) throw toProviderError(e, ctx);
        this.log.warn(
          'no Manage rights on the namespace: not creating entities, only checking the entity is reachable',
        );
      }
    }
    await guard(ctx, () => this.receiverFor('entity').peekMessages(1, { fromSequenceNumber: Long.ZERO }));
  }

  receiverFor(kind: 'entity' | 'dead-letter'): ServiceBusReceiver {
    if (kind === 'entity') return (this.mainReceiver ??= this.createReceiver(undefined));
    return (this.deadLetterReceiver ??= this.createReceiver('deadLetter'));
  }

  /** A receiver of its own (push mode), or of the dead-letter sub-queue; peek-lock, locks renewed by the SDK. */
  createReceiver(subQueueType: 'deadLetter' | undefined): ServiceBusReceiver {
    const options: ServiceBusReceiverOptions = {
      receiveMode: 'peekLock',
      maxAutoLockRenewalDurationInMs: this.settings.maxAutoLockRenewalDurationMs,
      skipParsingBodyAsJson: true,
      ...(subQueueType ? { subQueueType } : {}),
    };
    const e = this.settings.entity;
    return e.queueName
      ? this.client.createReceiver(e.queueName, options)
      : this.client.createReceiver(e.topicName!, e.subscriptionName!, options);
  }

  /** Accepts the given session, or the next free one. */
  acceptSessionReceiver(sessionId: string | undefined, options: ServiceBusSessionReceiverOptions) {
    const e = this.settings.entity;
    if (sessionId !== undefined) {
      return e.queueName
        ? this.client.acceptSession(e.queueName, sessionId, options)
        : this.client.acceptSession(e.topicName!, e.subscriptionName!, sessionId, options);
    }
    return e.queueName
      ? this.client.acceptNextSession(e.queueName, options)
      : this.client.acceptNextSession(e.topicName!, e.subscriptionName!, options);
  }

  senderLink(): ServiceBusSender {
    return (this.sender ??= this.client.createSender(this.settings.entity.sendTo));
  }

  /** The SDK message for an OutgoingMessage; a malformed one is a QueueProviderError (InvalidMessage). */
  outgoing(message: OutgoingMessage, ctx: ErrorContext, now?: number) {
    try {
      return toServiceBusMessage(message, now);
    } catch (e) {
      throw providerError(
        `Service Bus ${ctx.operation} on '${this.path}': ${(e as Error).message}`,
        ctx,
        'InvalidMessage',
      );
    }
  }

  /** Refuses further calls; `close` then closes what is open. */
  markClosing(): void {
    this.closing = true;
  }

  /**
   * Runs one closing step, bounded: when the connection has dropped, the SDK's link close can wait on an
   * answer that never comes (rhea-promise drops the pending close on disconnect), and close() must end.
   */
  async closeStep(what: string, p: Promise<unknown> | undefined): Promise<void> {
    const done = await within(
      p?.catch((e: unknown) => this.log.warn(`closing: ${what} failed`, { error: scrub(String(e), this.secrets) })),
      this.settings.closeTimeoutMs,
    );
    if (!done) this.log.warn(`closing: ${what} did not finish in time; going on`);
  }

  /** Closes the links and the client (the last closing steps). */
  async close(): Promise<void> {
    for (const link of [this.mainReceiver, this.deadLetterReceiver, this.sender])
      await this.closeStep('link', link?.close());
    await this.closeStep('client', this.client.close());
  }

  /** The entity's receiver, if one was opened (closing gives its prefetched messages back through it). */
  get openReceiver(): ServiceBusReceiver | undefined {
    return this.mainReceiver;
  }
}
