/** What the peer serves: its entities and their settings, fixed when it starts. */

export interface PeerSubscriptionOptions {
  name: string;
  /** Peek-lock duration (default 30 s). Short values make lock-expiry tests fast. */
  lockDurationMs?: number;
  /** Deliveries before the message is moved to the dead-letter sub-queue (default 10). */
  maxDeliveryCount?: number;
  requiresSession?: boolean;
}

export interface PeerEntityOptions extends PeerSubscriptionOptions {
  /** Default "queue". A topic only fans out to its subscriptions. */
  kind?: 'queue' | 'topic';
  subscriptions?: PeerSubscriptionOptions[];
}

export interface ServiceBusPeerOptions {
  entities: PeerEntityOptions[];
  /** Advertised as max-message-size on links the client sends on; the SDK sizes its batches by it (default 256 KiB). */
  maxMessageSizeBytes?: number;
  /** SAS rule the peer verifies put-token signatures against (defaults match the test connection string: k / v). */
  sharedAccessKeyName?: string;
  sharedAccessKey?: string;
}

/** Settings of one message store (queue, subscription or dead-letter sub-queue). */
export interface StoreSettings {
  lockDurationMs: number;
  maxDeliveryCount: number;
  requiresSession: boolean;
}

export function storeSettings(o: PeerSubscriptionOptions): StoreSettings {
  return {
    lockDurationMs: o.lockDurationMs ?? 30_000,
    maxDeliveryCount: o.maxDeliveryCount ?? 10,
    requiresSession: o.requiresSession ?? false,
  };
}
