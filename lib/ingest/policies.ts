/**
 * The resilience policies of ingest (cockatiel, the TypeScript Polly): what is retried, how long one
 * message may take, and how many run at once.
 */
import {
  bulkhead,
  ExponentialBackoff,
  handleWhen,
  retry,
  timeout,
  TimeoutStrategy,
  wrap,
  type IPolicy,
} from 'cockatiel';
import { isBulkDriverFailure } from '../db/bulk-failure.js';
import { isThrottled, throttleAwareBackoff } from '../db/throttling.js';
import { isTransientDbError } from '../store/errors.js';
import { QueueProviderError } from '../queues/provider.js';

export interface RetrySettings {
  /** Retries after the first try. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export function isTransientQueueError(e: unknown): boolean {
  return e instanceof QueueProviderError && e.details.transient;
}

export interface IngestPolicies {
  /** Around the batch's one bulk write: transient database errors are retried with backoff. */
  store: IPolicy;
  /** Around a receive: transient queue errors are retried with backoff. */
  receive: IPolicy;
  /** Around each message's work: bounded concurrency, its own time limit, transient queue errors retried. */
  perMessage: IPolicy;
}

export function createIngestPolicies(opts: {
  retry: RetrySettings;
  messageTimeoutMs: number;
  concurrency: number;
}): IngestPolicies {
  const backoff = () =>
    new ExponentialBackoff({
      initialDelay: Math.max(1, opts.retry.baseDelayMs),
      maxDelay: Math.max(1, opts.retry.maxDelayMs),
    });
  // Throttling (Cosmos DB 16500) is retried too, never sooner than its RetryAfterMs hint; so is a bulk write
  // that failed in the driver (a lost reply): the write is idempotent, and the retry finds what applied.
  const store = retry(
    handleWhen((e) => isTransientDbError(e) || isThrottled(e) || isBulkDriverFailure(e)),
    {
      maxAttempts: opts.retry.attempts,
      backoff: throttleAwareBackoff(Math.max(1, opts.retry.baseDelayMs), Math.max(1, opts.retry.maxDelayMs)),
    },
  );
  const settle = retry(handleWhen(isTransientQueueError), { maxAttempts: opts.retry.attempts, backoff: backoff() });
  // Aggressive: a hung SDK call must not hold the batch; the message is then redelivered and deduplicated.
  const limit = timeout(opts.messageTimeoutMs, TimeoutStrategy.Aggressive);
  // The bulkhead is outermost so that waiting for a slot does not eat into a message's own time.
  const perMessage = wrap(bulkhead(opts.concurrency, Number.MAX_SAFE_INTEGER), limit, settle);
  const receive = retry(handleWhen(isTransientQueueError), { maxAttempts: opts.retry.attempts, backoff: backoff() });
  return { store, receive, perMessage };
}
