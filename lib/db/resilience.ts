import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
} from 'cockatiel';
import { MongoNetworkError, MongoServerClosedError } from 'mongodb';
import { errorMessage } from '../errors/message.js';
import type { Logger } from '../log/logger.js';
import { isTransientDbError } from '../store/errors.js';
import { isThrottled, throttleAwareBackoff, throttleOf } from './throttling.js';

export interface ResilienceOptions {
  /** Retries of one call after its first try (transient errors only). */
  retries?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Consecutive transient failures that open the circuit. */
  breakerThreshold?: number;
  /** How long the circuit stays open before one trial call. */
  halfOpenAfterMs?: number;
  /**
   * A call that has not answered in this long counts as a transient failure (default 30 s). The driver
   * has no socket timeout by default, so a connection silently dropped mid-call (a NAT, a partition)
   * would otherwise hang a write, and with it a task whose lease the heartbeat keeps alive, forever.
   */
  callTimeoutMs?: number;
  /** Retries of a call the database throttles (Cosmos DB 16500), each waiting at least its RetryAfterMs (default 8). */
  throttleRetries?: number;
}

/**
 * The policy every store call of a worker or the reclaimer goes through: a few quick retries with
 * exponential backoff for transient errors (a primary stepping down, a dropped connection), inside which
 * a circuit breaker stops hammering a database that is down. While the circuit is open calls fail at
 * once with DatabaseUnavailableError, and the worker pauses instead of spinning.
 */
export interface StorePolicy {
  execute<T>(fn: () => Promise<T>): Promise<T>;
  readonly breaker: CircuitBreakerPolicy;
  /** How long to pause after a call failed because the database is unavailable. */
  readonly pauseMs: number;
  isOpen(): boolean;
}

/** The database is unreachable (circuit open, or transient errors outlasted the retries). */
export class DatabaseUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseUnavailableError';
  }
}

/**
 * The database kept throttling a call (Cosmos DB 16500) through all its retries. A kind of unavailable:
 * callers pause as they do for an outage, and try again later.
 */
export class DatabaseThrottledError extends DatabaseUnavailableError {
  constructor(
    message: string,
    readonly retryAfterMs: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DatabaseThrottledError';
  }
}

/**
 * Transient database errors, calls that outlived the call timeout, and the driver's own "that server
 * went away mid-call" errors (any network error subclass; a server closed while the call was checked
 * out on it), which an outage produces too.
 */
function isTransient(e: unknown): boolean {
  return (
    isTransientDbError(e) ||
    e instanceof TaskCancelledError ||
    e instanceof MongoNetworkError ||
    e instanceof MongoServerClosedError
  );
}

/** Unavailable for now: down, or throttling past the retries (the caller pauses either way). */
export function isDatabaseUnavailable(e: unknown): boolean {
  return e instanceof DatabaseUnavailableError || e instanceof BrokenCircuitError || isTransient(e) || isThrottled(e);
}

export function createStorePolicy(logger: Logger, o: ResilienceOptions = {}): StorePolicy {
  const transient = handleWhen(isTransient);
  const halfOpenAfterMs = o.halfOpenAfterMs ?? 1_000;
  const breaker = circuitBreaker(transient, {
    halfOpenAfter: halfOpenAfterMs,
    breaker: new ConsecutiveBreaker(o.breakerThreshold ?? 5),
  });
  const retrying = retry(transient, {
    maxAttempts: o.retries ?? 3,
    backoff: new ExponentialBackoff({ initialDelay: o.initialDelayMs ?? 100, maxDelay: o.maxDelayMs ?? 2_000 }),
  });
  breaker.onBreak(() => logger.warn('database unavailable: circuit opened; store calls pause', { halfOpenAfterMs }));
  breaker.onReset(() => logger.info('database reachable again: circuit closed'));
  retrying.onRetry((r) =>
    logger.debug('store call failed transiently; retrying', {
      delayMs: r.delay,
      attempt: r.attempt,
      error: 'error' in r ? r.error : undefined,
    }),
  );
  // Aggressive: the caller gets the timeout at once; the abandoned call may still apply, which the lease writes reconcile.
  const callTimeout = timeout(o.callTimeoutMs ?? 30_000, TimeoutStrategy.Aggressive);
  // Throttling is outermost and outside the breaker: a throttled database is up, it asks to slow down.
  const throttled = retry(handleWhen(isThrottled), {
    maxAttempts: o.throttleRetries ?? 8,
    backoff: throttleAwareBackoff(o.initialDelayMs ?? 100, o.maxDelayMs ?? 2_000),
  });
  throttled.onRetry((r) =>
    logger.debug('database throttled the call; retrying after its hint', { delayMs: r.delay, attempt: r.attempt }),
  );
  const policy: IPolicy = wrap(throttled, retrying, breaker, callTimeout);
  return {
    breaker,
    pauseMs: halfOpenAfterMs,
    isOpen: () => breaker.state === CircuitState.Open || breaker.state === CircuitState.Isolated,
    execute: async <T>(fn: () => Promise<T>): Promise<T> => {
      try {
        // A signal of its own per call: cockatiel otherwise hangs every call's abort listener on one shared signal (and Node warns past 10).
        return await policy.execute(() => fn(), new AbortController().signal);
      } catch (e) {
        const throttle = throttleOf(e);
        if (throttle)
          throw new DatabaseThrottledError(
            `database throttled the call through every retry (last hint ${throttle.retryAfterMs} ms): ${errorMessage(e)}`,
            throttle.retryAfterMs,
            { cause: e },
          );
        if (e instanceof BrokenCircuitError)
          throw new DatabaseUnavailableError('database unavailable (circuit open)', { cause: e });
        if (isTransient(e))
          throw new DatabaseUnavailableError(`database unavailable: ${errorMessage(e)}`, { cause: e });
        throw e;
      }
    },
  };
}
