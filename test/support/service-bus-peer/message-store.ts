/**
 * One Service Bus message store: a queue, a subscription, or a dead-letter sub-queue. It owns the
 * messages with their states (active, deferred, scheduled), peek-locks and their expiry, session locks,
 * delivery counting with dead-lettering past the max delivery count, and hands messages to the links
 * reading it, in sequence-number order.
 */
import { newLockToken, type WireMessage } from './amqp-values.js';
import { PeerError, lockLost, sessionLockLost } from './errors.js';
import type { StoreSettings } from './options.js';

export type MessageState = 'active' | 'deferred' | 'scheduled';

export interface MessageLock {
  token: string;
  lockedUntil: Date;
  /** Set when the message is locked through a session lock (it then expires with the session, not alone). */
  sessionId?: string;
}

export interface StoredMessage {
  readonly sequenceNumber: number;
  message: WireMessage;
  enqueuedAt: Date;
  /** Deliveries so far (Service Bus' 1-based DeliveryCount once delivered). */
  deliveryCount: number;
  state: MessageState;
  readonly sessionId: string | undefined;
  lock?: MessageLock;
}

/** A receive link reading this store. */
export interface StoreConsumer {
  /** The session this link holds (session entities only). */
  readonly sessionId: string | undefined;
  /** How many more messages the link may take now (its remaining credit). */
  capacity(): number;
  deliver(message: StoredMessage): void;
  /** The session lock expired: the link must be detached. */
  sessionLost(): void;
}

export interface DeadLetterInfo {
  reason?: string;
  description?: string;
  properties?: Record<string, unknown>;
}

export type Disposition =
  | { kind: 'complete' }
  | { kind: 'abandon'; properties?: Record<string, unknown> }
  | { kind: 'defer'; properties?: Record<string, unknown> }
  | { kind: 'deadLetter'; info: DeadLetterInfo }
  /** AMQP released: handed back without counting as a delivery attempt. */
  | { kind: 'release' };

export interface StoreCounts {
  active: number;
  locked: number;
  deferred: number;
  scheduled: number;
}

export class SequenceCounter {
  private last = 0;
  next(): number {
    return ++this.last;
  }
}

interface SessionLock {
  owner: StoreConsumer;
  lockedUntil: Date;
}

const scheduledAnnotation = 'x-opt-scheduled-enqueue-time';

export class MessageStore {
  // Insertion order is sequence order (sequence numbers are handed out on insert), so iteration is FIFO.
  private readonly messages = new Map<number, StoredMessage>();
  private readonly locked = new Map<string, StoredMessage>();
  private readonly sessions = new Map<string, SessionLock>();
  private readonly sessionStates = new Map<string, Buffer>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly consumers: StoreConsumer[] = [];
  private pumping = false;
  private pumpAgain = false;
  private closed = false;

  constructor(
    readonly path: string,
    readonly settings: StoreSettings,
    private readonly sequence: SequenceCounter,
    /** Where dead-lettered messages go; undefined for a dead-letter sub-queue itself. */
    private readonly deadLetterQueue?: MessageStore,
  ) {}

  enqueue(message: WireMessage): StoredMessage {
    const sessionId = typeof message.group_id === 'string' ? message.group_id : undefined;
    if (this.settings.requiresSession && sessionId === undefined) {
      throw new PeerError(
        'amqp:not-allowed',
        `The entity '${this.path}' requires sessions: the message has no SessionId.`,
        400,
      );
    }
    const now = new Date();
    const m: StoredMessage = {
      sequenceNumber: this.sequence.next(),
      message,
      enqueuedAt: now,
      deliveryCount: 0,
      state: 'active',
      sessionId,
    };
    const at = message.message_annotations?.[scheduledAnnotation];
    if (at instanceof Date && at.getTime() > now.getTime()) {
      m.state = 'scheduled';
      this.setTimer(`scheduled:${m.sequenceNumber}`, at.getTime() - now.getTime(), () => {
        m.state = 'active';
        m.enqueuedAt = new Date();
        this.pump();
      });
    }
    this.messages.set(m.sequenceNumber, m);
    this.pump();
    return m;
  }

  cancelScheduled(sequenceNumber: number): boolean {
    const m = this.messages.get(sequenceNumber);
    if (m?.state !== 'scheduled') return false;
    this.clearTimer(`scheduled:${sequenceNumber}`);
    this.messages.delete(sequenceNumber);
    return true;
  }

  attach(consumer: StoreConsumer): void {
    this.consumers.push(consumer);
    this.pump();
  }

  detach(consumer: StoreConsumer): void {
    const i = this.consumers.indexOf(consumer);
    if (i >= 0) this.consumers.splice(i, 1);
    const sessionId = consumer.sessionId;
    if (sessionId !== undefined && this.sessions.get(sessionId)?.owner === consumer) this.releaseSession(sessionId);
  }

  /** Hands active messages to links with credit, round-robin, until either runs out. */
  pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        let progress = true;
        while (progress) {
          progress = false;
          for (const consumer of [...this.consumers]) {
            if (consumer.capacity() <= 0) continue;
            const m = this.nextFor(consumer);
            if (!m) continue;
            this.lock(m, consumer.sessionId);
            consumer.deliver(m);
            progress = true;
          }
        }
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  /** Settles a locked message by its lock token (link disposition or management update-disposition). */
  settle(token: string, disposition: Disposition): void {
    const m = this.lockedMessage(token);
    switch (disposition.kind) {
      case 'complete':
        this.dropLock(m);
        this.messages.delete(m.sequenceNumber);
        return;
      case 'abandon':
        this.release(m, disposition.properties);
        return;
      case 'release':
        m.deliveryCount -= 1;
        this.release(m);
        return;
      case 'defer':
        this.dropLock(m);
        m.state = 'deferred';
        if (disposition.properties) m.message = withProperties(m.message, disposition.properties);
        return;
      case 'deadLetter':
        if (!this.deadLetterQueue)
          throw new PeerError('amqp:not-allowed', `Messages in '${this.path}' cannot be dead-lettered again.`, 400);
        this.dropLock(m);
        this.moveToDeadLetter(m, disposition.info);
        return;
    }
  }

  renewLock(token: string): Date {
    const m = this.lockedMessage(token);
    const lock = m.lock!;
    if (lock.sessionId !== undefined) return lock.lockedUntil; // held by the session lock; renew that instead
    lock.lockedUntil = new Date(Date.now() + this.settings.lockDurationMs);
    this.setTimer(`lock:${m.sequenceNumber}`, this.settings.lockDurationMs, () => this.expire(m, token));
    return lock.lockedUntil;
  }

  /** Locks deferred messages for the receive-by-sequence-number management operation. */
  receiveDeferred(sequenceNumbers: number[], sessionId: string | undefined): StoredMessage[] {
    const found = sequenceNumbers.map((n) => this.messages.get(n));
    const missing = sequenceNumbers.filter((_, i) => {
      const m = found[i];
      return (
        !m || m.state !== 'deferred' || m.lock !== undefined || (sessionId !== undefined && m.sessionId !== sessionId)
      );
    });
    if (missing.length > 0) {
      throw new PeerError(
        'com.microsoft:message-not-found',
        `No deferred message with sequence number ${missing.join(', ')} in '${this.path}'.`,
        404,
      );
    }
    const messages = found as StoredMessage[];
    for (const m of messages) this.lock(m, undefined);
    return messages;
  }

  peek(fromSequenceNumber: number, count: number, sessionId: string | undefined): StoredMessage[] {
    return [...this.messages.values()]
      .filter((m) => m.sequenceNumber >= fromSequenceNumber && (sessionId === undefined || m.sessionId === sessionId))
      .sort((a, b) => a.sequenceNumber - b.sequenceNumber)
      .slice(0, count);
  }

  /** Locks the requested session, or the first session with an active message when none is named. */
  acceptSession(
    owner: StoreConsumer,
    requested: string | undefined,
  ): { sessionId: string; lockedUntil: Date } | undefined {
    let sessionId = requested;
    if (sessionId === undefined) {
      for (const m of this.messages.values()) {
        if (m.state === 'active' && !m.lock && m.sessionId !== undefined && !this.sessions.has(m.sessionId)) {
          sessionId = m.sessionId;
          break;
        }
      }
    }
    if (sessionId === undefined || this.sessions.has(sessionId)) return undefined;
    const lockedUntil = new Date(Date.now() + this.settings.lockDurationMs);
    this.sessions.set(sessionId, { owner, lockedUntil });
    this.armSessionTimer(sessionId);
    return { sessionId, lockedUntil };
  }

  renewSessionLock(sessionId: string): Date {
    const s = this.sessions.get(sessionId);
    if (!s) throw sessionLockLost(sessionId);
    s.lockedUntil = new Date(Date.now() + this.settings.lockDurationMs);
    for (const m of this.locked.values()) if (m.lock?.sessionId === sessionId) m.lock.lockedUntil = s.lockedUntil;
    this.armSessionTimer(sessionId);
    return s.lockedUntil;
  }

  sessionState(sessionId: string): Buffer | undefined {
    return this.sessionStates.get(sessionId);
  }

  setSessionState(sessionId: string, state: Buffer | undefined): void {
    if (!this.sessions.has(sessionId)) throw sessionLockLost(sessionId);
    if (state === undefined) this.sessionStates.delete(sessionId);
    else this.sessionStates.set(sessionId, state);
  }

  sessionIds(): string[] {
    return [...new Set([...this.messages.values()].flatMap((m) => (m.sessionId === undefined ? [] : [m.sessionId])))];
  }

  /** Takes a copy of a message dead-lettered elsewhere (this store is that entity's dead-letter sub-queue). */
  addDeadLettered(from: StoredMessage, info: DeadLetterInfo, source: string): void {
    const properties: Record<string, unknown> = {
      ...(from.message.application_properties ?? {}),
      ...(info.properties ?? {}),
    };
    if (info.reason !== undefined) properties.DeadLetterReason = info.reason;
    if (info.description !== undefined) properties.DeadLetterErrorDescription = info.description;
    const message: WireMessage = {
      ...from.message,
      application_properties: properties,
      message_annotations: { ...(from.message.message_annotations ?? {}), 'x-opt-deadletter-source': source },
    };
    const m: StoredMessage = {
      ...from,
      message,
      state: 'active',
      lock: undefined,
      sequenceNumber: this.sequence.next(),
    };
    this.messages.set(m.sequenceNumber, m);
    this.pump();
  }

  counts(): StoreCounts {
    const c: StoreCounts = { active: 0, locked: 0, deferred: 0, scheduled: 0 };
    for (const m of this.messages.values()) {
      if (m.lock) c.locked++;
      else c[m.state]++;
    }
    return c;
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private nextFor(consumer: StoreConsumer): StoredMessage | undefined {
    for (const m of this.messages.values()) {
      if (m.state !== 'active' || m.lock) continue;
      if (this.settings.requiresSession && m.sessionId !== consumer.sessionId) continue;
      return m;
    }
    return undefined;
  }

  private lock(m: StoredMessage, sessionId: string | undefined): void {
    const token = newLockToken();
    m.deliveryCount += 1;
    const session = sessionId === undefined ? undefined : this.sessions.get(sessionId);
    if (session) {
      m.lock = { token, lockedUntil: session.lockedUntil, sessionId };
    } else {
      m.lock = { token, lockedUntil: new Date(Date.now() + this.settings.lockDurationMs) };
      this.setTimer(`lock:${m.sequenceNumber}`, this.settings.lockDurationMs, () => this.expire(m, token));
    }
    this.locked.set(token, m);
  }

  private lockedMessage(token: string): StoredMessage {
    const m = this.locked.get(token);
    if (!m || !m.lock || m.lock.lockedUntil.getTime() <= Date.now()) throw lockLost();
    return m;
  }

  private dropLock(m: StoredMessage): void {
    if (!m.lock) return;
    this.locked.delete(m.lock.token);
    this.clearTimer(`lock:${m.sequenceNumber}`);
    m.lock = undefined;
  }

  private expire(m: StoredMessage, token: string): void {
    if (m.lock?.token === token) this.release(m);
  }

  /** Back to the queue (abandon, lock expiry, session closed); dead-lettered once out of delivery attempts. */
  private release(m: StoredMessage, properties?: Record<string, unknown>): void {
    this.dropLock(m);
    if (properties) m.message = withProperties(m.message, properties);
    if (m.state === 'active' && this.deadLetterQueue && m.deliveryCount >= this.settings.maxDeliveryCount) {
      this.moveToDeadLetter(m, {
        reason: 'MaxDeliveryCountExceeded',
        description: `Message could not be consumed after ${m.deliveryCount} delivery attempts.`,
      });
      return;
    }
    this.pump();
  }

  private moveToDeadLetter(m: StoredMessage, info: DeadLetterInfo): void {
    this.messages.delete(m.sequenceNumber);
    this.deadLetterQueue!.addDeadLettered(m, info, this.path);
  }

  private armSessionTimer(sessionId: string): void {
    const s = this.sessions.get(sessionId)!;
    this.setTimer(`session:${sessionId}`, s.lockedUntil.getTime() - Date.now(), () => {
      s.owner.sessionLost();
      this.releaseSession(sessionId);
    });
  }

  private releaseSession(sessionId: string): void {
    this.clearTimer(`session:${sessionId}`);
    this.sessions.delete(sessionId);
    for (const m of [...this.locked.values()]) if (m.lock?.sessionId === sessionId) this.release(m);
    this.pump();
  }

  private setTimer(key: string, ms: number, fn: () => void): void {
    this.clearTimer(key);
    const t = setTimeout(
      () => {
        this.timers.delete(key);
        if (!this.closed) fn();
      },
      Math.max(0, ms),
    );
    t.unref();
    this.timers.set(key, t);
  }

  private clearTimer(key: string): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
  }
}

/** properties-to-modify: Service Bus merges them into the application properties. */
function withProperties(message: WireMessage, properties: Record<string, unknown>): WireMessage {
  return { ...message, application_properties: { ...(message.application_properties ?? {}), ...properties } };
}
