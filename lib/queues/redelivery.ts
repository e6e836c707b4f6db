/**
 * Redelivery delay of an abandoned message: exponential in its delivery count, capped.
 * No jitter: messages of one failed batch spread out on their own (different delivery counts), and
 * a predictable delay is easier for an operator to reason about.
 */
export interface RedeliveryBackoff {
  baseMs: number;
  capMs: number;
}

export const defaultRedeliveryBackoff: RedeliveryBackoff = { baseMs: 1_000, capMs: 300_000 };

export function redeliveryDelay(deliveryCount: number, backoff: RedeliveryBackoff): number {
  const exponent = Math.max(0, Math.min(deliveryCount - 1, 30));
  return Math.min(backoff.capMs, backoff.baseMs * 2 ** exponent);
}
