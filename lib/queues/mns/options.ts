/** The MNS provider's limits, its queue-name rule and its options. */
import { z } from 'zod';
import type { Logger } from '../../log/logger.js';
import type { RedeliveryBackoff } from '../redelivery.js';
import type { MnsCredentials } from './credentials.js';

export const MNS_MAX_WAIT_SECONDS = 30;
export const MNS_MAX_DELAY_SECONDS = 604_800;
export const MNS_MAX_VISIBILITY_SECONDS = 43_200;
export const MNS_MAX_MESSAGE_BYTES = 65_536;

/** MNS queue names: a letter, then letters, digits and dashes (at most 120 characters here). */
export const mnsQueueName = z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,119}$/, {
  message: 'an MNS queue name (a letter, then letters, digits, dashes; at most 120)',
});

export interface MnsProviderOptions {
  accountId: string;
  /** http(s)://<account>.mns.<region>.aliyuncs.com, or a local peer. */
  endpoint: string;
  credentials: MnsCredentials;
  /** Fresh STS credentials, asked for every `refreshIntervalMs` (Function Compute rotates them). */
  refreshCredentials?: () => Promise<MnsCredentials>;
  refreshIntervalMs?: number;
  queueName: string;
  deadLetterQueueName: string;
  /** Deliveries before a message moves to the dead-letter queue (Aliyun:MaxReceiveCount). */
  maxReceiveCount: number;
  /** Visibility timeout of queues this provider creates (default 30 s). */
  visibilityTimeoutMs?: number;
  /** Message size limit of queues this provider creates, and checked on send (default 64 KiB). */
  maxMessageBytes?: number;
  /** Backoff of `abandon` without an explicit delay. */
  redelivery?: RedeliveryBackoff;
  logger?: Logger;
}
