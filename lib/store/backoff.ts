/** Exponential backoff with full jitter: a random delay in [0, min(cap, base * 2^(attempt-1))]. */
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  random?: () => number;
}

export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  const exp = Math.min(opts.capMs, opts.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 52)));
  return Math.floor((opts.random ?? Math.random)() * exp);
}
