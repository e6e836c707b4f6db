/**
 * Wake-ups: hints that work became claimable, so an idle processor claims at once instead of at its
 * next poll. Never a source of truth: the store decides what is claimable, so a lost, duplicated or
 * early wake-up changes nothing but latency (polling and the sweep stay as the safety net).
 */

/** An announcement: `count` tasks became (or become at `at`) claimable. */
export interface WakeUp {
  count: number;
  /** When the tasks become claimable (a backoff's end, a notBefore); unset or past: now. */
  at?: Date;
}

/** What a listener hears: a wake-up that is due now. */
export interface DueWakeUp {
  count: number;
}

export type WakeListener = (w: DueWakeUp) => void;

/** Where announcements go (a channel, the dispatch queue, an async invocation). Never throws: a failed announcement is logged. */
export interface WakeTarget {
  announce(w: WakeUp): Promise<void>;
}

export interface SubscribeOptions {
  /**
   * Whether the listener wants wake-ups now (a busy worker does not): a channel that has to ask the
   * database may skip its polls while no listener wants anything.
   */
  wanted?: () => boolean;
}

/** Where processors listen. A listener is called when a wake-up is due (delayed ones at their time). */
export interface WakeSource {
  subscribe(listener: WakeListener, opts?: SubscribeOptions): () => void;
}

/** One channel: announcements in, due wake-ups out. */
export interface WakeChannel extends WakeTarget, WakeSource {
  readonly name: string;
  close(): Promise<void>;
}

/** The delay until `at` (0 when unset or past). */
export function delayOf(w: WakeUp, now = Date.now()): number {
  return w.at ? Math.max(0, w.at.getTime() - now) : 0;
}
