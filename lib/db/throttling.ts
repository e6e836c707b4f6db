/**
 * Throttling by Azure Cosmos DB for MongoDB: error 16500 (RequestRateTooLarge, HTTP 429 underneath) with a
 * `RetryAfterMs=<n>` hint in its message, as a command error or as a write error of an ok reply. Not an
 * outage (the circuit stays closed) and always safe to retry: the request was not executed. Retries wait
 * at least the hinted time, growing exponentially (with jitter) when the hint keeps coming back.
 */
import { DelegateBackoff, type IRetryBackoffContext } from 'cockatiel';

export const THROTTLED_CODE = 16500;
/** Wait when 16500 comes without a hint. */
const DEFAULT_RETRY_AFTER_MS = 100;

/** The hinted wait when `e` is a throttling answer (a 16500 error, or a bulk write whose errors include one). */
export function throttleOf(e: unknown): { retryAfterMs: number } | undefined {
  if (!(e instanceof Error)) return undefined;
  const candidates: { code?: unknown; errmsg?: unknown; message?: unknown }[] = [e as { code?: unknown }];
  const writeErrors: unknown = (e as { writeErrors?: unknown }).writeErrors;
  if (Array.isArray(writeErrors)) candidates.push(...(writeErrors as { code?: unknown }[]));
  else if (writeErrors && typeof writeErrors === 'object')
    candidates.push(...(Object.values(writeErrors) as { code?: unknown }[]));
  const hit = candidates.find((c) => c?.code === THROTTLED_CODE);
  if (!hit) return undefined;
  const text = [hit.errmsg, hit.message, e.message].find((m): m is string => typeof m === 'string') ?? '';
  const m = /RetryAfterMs=(\d+)/i.exec(text);
  return { retryAfterMs: m ? Number(m[1]) : DEFAULT_RETRY_AFTER_MS };
}

export function isThrottled(e: unknown): boolean {
  return throttleOf(e) !== undefined;
}

/**
 * Backoff for a retry policy that meets throttling among other errors: the larger of the hint and
 * `base * 2^(attempt-1)` (capped at `maxMs`), plus up to 20% jitter so throttled clients spread out.
 */
export function throttleAwareBackoff(baseMs: number, maxMs: number): DelegateBackoff<IRetryBackoffContext<unknown>> {
  return new DelegateBackoff<IRetryBackoffContext<unknown>>((ctx) => {
    const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, ctx.attempt - 1));
    const hint = 'error' in ctx.result ? throttleOf(ctx.result.error)?.retryAfterMs : undefined;
    const wait = Math.max(exponential, hint ?? 0);
    return Math.round(wait * (1 + Math.random() * 0.2));
  });
}
