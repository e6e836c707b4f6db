/**
 * The MNS peer's queue model: messages with ids, receipt handles, visibility timeouts, delays, dequeue
 * counts and priorities, behaving as the service documents (a receipt handle is valid only for the
 * delivery that issued it and only while the message is invisible; ChangeMessageVisibility issues a
 * new one). Message retention (expiry) is not modelled.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { bodyMd5 } from './signature.js';

export class PeerError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PeerError';
  }
}

export interface QueueAttributes {
  DelaySeconds: number;
  MaximumMessageSize: number;
  MessageRetentionPeriod: number;
  VisibilityTimeout: number;
  PollingWaitSeconds: number;
  LoggingEnabled: boolean;
}

export const defaultAttributes: QueueAttributes = {
  DelaySeconds: 0,
  MaximumMessageSize: 65_536,
  MessageRetentionPeriod: 345_600,
  VisibilityTimeout: 30,
  PollingWaitSeconds: 0,
  LoggingEnabled: false,
};

/** The service's documented ranges. */
export const attributeRanges: Record<Exclude<keyof QueueAttributes, 'LoggingEnabled'>, [number, number]> = {
  DelaySeconds: [0, 604_800],
  MaximumMessageSize: [1024, 65_536],
  MessageRetentionPeriod: [60, 604_800],
  VisibilityTimeout: [1, 43_200],
  PollingWaitSeconds: [0, 30],
};

export interface StoredMessage {
  id: string;
  body: string;
  md5: string;
  priority: number;
  enqueueTime: number;
  firstDequeueTime: number | null;
  nextVisibleTime: number;
  dequeueCount: number;
  receiptHandle: string | null;
  seq: number;
}

export const invalidArgument = (message: string) => new PeerError(400, 'InvalidArgument', message);
export const messageNotExist = () => new PeerError(404, 'MessageNotExist', 'Message not exist.');

/** Real handles are Base64-like and may hold "+", "/" and "=": clients must URL-encode them. */
const handleFormat = /^[0-9a-f]+-[A-Za-z0-9+/]+=*$/;

export class PeerQueue {
  readonly createTime: number;
  lastModifyTime: number;
  private readonly messages = new Map<string, StoredMessage>();
  private readonly byHandle = new Map<string, string>();
  private seq = 0;

  constructor(
    readonly name: string,
    public attributes: QueueAttributes,
    now: number,
  ) {
    this.createTime = now;
    this.lastModifyTime = now;
  }

  send(body: string, now: number, opts: { delaySeconds?: number; priority?: number } = {}): StoredMessage {
    const size = Buffer.byteLength(body, 'utf8');
    if (size > this.attributes.MaximumMessageSize) {
      throw invalidArgument(
        `The length of MessageBody should be between 1 and ${this.attributes.MaximumMessageSize} bytes.`,
      );
    }
    const delay = opts.delaySeconds ?? this.attributes.DelaySeconds;
    const m: StoredMessage = {
      id: randomUUID().replace(/-/g, '').toUpperCase(),
      body,
      md5: bodyMd5(body),
      priority: opts.priority ?? 8,
      enqueueTime: now,
      firstDequeueTime: null,
      nextVisibleTime: now + delay * 1000,
      dequeueCount: 0,
      receiptHandle: null,
      seq: ++this.seq,
    };
    this.messages.set(m.id, m);
    return m;
  }

  /** Takes up to n visible messages: highest priority (lowest number) first, then oldest. */
  receive(n: number, now: number): StoredMessage[] {
    const visible = this.visible(now).slice(0, n);
    for (const m of visible) {
      this.dropHandle(m);
      m.dequeueCount++;
      m.firstDequeueTime ??= now;
      m.nextVisibleTime = now + this.attributes.VisibilityTimeout * 1000;
      this.issueHandle(m);
    }
    return visible;
  }

  peek(n: number, now: number): StoredMessage[] {
    return this.visible(now).slice(0, n);
  }

  delete(handle: string, now: number): void {
    const m = this.byValidHandle(handle, now);
    this.dropHandle(m);
    this.messages.delete(m.id);
  }

  changeVisibility(handle: string, seconds: number, now: number): StoredMessage {
    const m = this.byValidHandle(handle, now);
    this.dropHandle(m);
    m.nextVisibleTime = now + seconds * 1000;
    this.issueHandle(m);
    return m;
  }

  /** The stored messages, for tests that check the peer's state. */
  inspect(): readonly Readonly<StoredMessage>[] {
    return [...this.messages.values()];
  }

  counts(now: number): { active: number; inactive: number; delayed: number } {
    let active = 0;
    let inactive = 0;
    let delayed = 0;
    for (const m of this.messages.values()) {
      if (m.nextVisibleTime <= now) active++;
      else if (m.dequeueCount > 0) inactive++;
      else delayed++;
    }
    return { active, inactive, delayed };
  }

  private visible(now: number): StoredMessage[] {
    const out: StoredMessage[] = [];
    for (const m of this.messages.values()) if (m.nextVisibleTime <= now) out.push(m);
    return out.sort((a, b) => a.priority - b.priority || a.seq - b.seq);
  }

  private byValidHandle(handle: string, now: number): StoredMessage {
    if (!handleFormat.test(handle))
      throw new PeerError(400, 'ReceiptHandleError', 'The receipt handle you provide is not valid.');
    const id = this.byHandle.get(handle);
    const m = id ? this.messages.get(id) : undefined;
    // A handle dies when its visibility timeout ends (the message may be delivered to someone else).
    if (!m || m.receiptHandle !== handle || m.nextVisibleTime <= now) throw messageNotExist();
    return m;
  }

  private issueHandle(m: StoredMessage): void {
    const h = `${m.seq.toString(16)}-${randomBytes(18).toString('base64')}`;
    m.receiptHandle = h;
    this.byHandle.set(h, m.id);
  }

  private dropHandle(m: StoredMessage): void {
    if (m.receiptHandle) this.byHandle.delete(m.receiptHandle);
    m.receiptHandle = null;
  }
}
