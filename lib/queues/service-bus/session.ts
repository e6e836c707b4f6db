/**
 * One accepted message session: messages of one session id in FIFO order, under a session lock the SDK
 * renews up to MaxAutoLockRenewalDuration. Its messages are settled through the provider (complete,
 * abandon, deadLetter, defer); the session link must stay open until they are, so `closeWhenSettled`
 * lets a caller move on to the next session without stranding messages it still holds.
 */
import type { ServiceBusSessionReceiver } from '@azure/service-bus';
import Long from 'long';
import type { QueueMessage, ReceiveOptions } from '../provider.js';
import { guard, type ErrorContext } from './errors.js';
import { ServiceBusHandle, toQueueMessage } from './messages.js';

export class ServiceBusSession {
  private outstanding = 0;
  private closeRequested = false;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly receiver: ServiceBusSessionReceiver,
    private readonly ctx: Omit<ErrorContext, 'operation'>,
  ) {}

  get sessionId(): string {
    return this.receiver.sessionId;
  }

  /** When the session lock runs out unless renewed. */
  get lockedUntil(): Date {
    return this.receiver.sessionLockedUntilUtc;
  }

  get isClosed(): boolean {
    return this.closed !== undefined;
  }

  async receive(options: ReceiveOptions): Promise<QueueMessage[]> {
    const received = await guard({ ...this.ctx, operation: 'receiveSession' }, () =>
      this.receiver.receiveMessages(options.maxMessages, { maxWaitTimeInMs: options.waitMs }),
    );
    this.outstanding += received.length;
    return received.map((m) =>
      toQueueMessage(m, new ServiceBusHandle(m, this.receiver, 'session', () => this.settledOne())),
    );
  }

  /** Deferred messages of this session, by the sequence numbers `defer` returned. */
  async receiveDeferred(sequenceNumbers: bigint[]): Promise<QueueMessage[]> {
    const received = await guard({ ...this.ctx, operation: 'receiveDeferred' }, () =>
      this.receiver.receiveDeferredMessages(sequenceNumbers.map((n) => Long.fromString(n.toString()))),
    );
    this.outstanding += received.length;
    return received.map((m) =>
      toQueueMessage(m, new ServiceBusHandle(m, this.receiver, 'session', () => this.settledOne())),
    );
  }

  async renewLock(): Promise<Date> {
    return guard({ ...this.ctx, operation: 'renewSessionLock' }, () => this.receiver.renewSessionLock());
  }

  async getState(): Promise<string | undefined> {
    const state: unknown = await guard({ ...this.ctx, operation: 'getSessionState' }, () =>
      this.receiver.getSessionState(),
    );
    if (state === undefined || state === null) return undefined;
    return Buffer.isBuffer(state) ? state.toString('utf8') : typeof state === 'string' ? state : JSON.stringify(state);
  }

  async setState(state: string): Promise<void> {
    await guard({ ...this.ctx, operation: 'setSessionState' }, () =>
      this.receiver.setSessionState(Buffer.from(state, 'utf8')),
    );
  }

  /** Closes now: messages not yet settled can no longer be settled (their lock goes with the session). */
  close(): Promise<void> {
    this.closed ??= guard({ ...this.ctx, operation: 'closeSession' }, () => this.receiver.close());
    return this.closed;
  }

  /** Closes once every message received from this session has been settled (at once if none is pending). */
  closeWhenSettled(): void {
    this.closeRequested = true;
    if (this.outstanding === 0) void this.close().catch(() => undefined);
  }

  private settledOne(): void {
    this.outstanding = Math.max(0, this.outstanding - 1);
    if (this.closeRequested && this.outstanding === 0) void this.close().catch(() => undefined);
  }
}
