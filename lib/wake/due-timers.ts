import type { DueWakeUp } from './wake-up.js';

/** Longest setTimeout delay Node accepts. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Holds delayed wake-ups until they are due, one timer per distinct due time (later ones merge into
 * it). Timers are unref'd: a pending wake-up never keeps a process alive. A wake-up lost with its
 * process costs latency only: the poll and the sweep find the task anyway.
 */
export class DueTimers {
  private readonly timers = new Map<number, { timer: NodeJS.Timeout; count: number }>();

  constructor(private readonly deliver: (w: DueWakeUp) => void) {}

  /** Delivers at once when due, else at `at` (never earlier: an early wake-up would find nothing and idle). */
  add(count: number, at: number | undefined, now = Date.now()): void {
    if (at === undefined || at <= now) {
      this.deliver({ count });
      return;
    }
    const pending = this.timers.get(at);
    if (pending) {
      pending.count += count;
      return;
    }
    const entry = { count, timer: setTimeout(() => this.fire(at), Math.min(at - now, MAX_TIMER_MS)) };
    entry.timer.unref();
    this.timers.set(at, entry);
  }

  get size(): number {
    return this.timers.size;
  }

  clear(): void {
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private fire(at: number): void {
    const entry = this.timers.get(at);
    if (!entry) return;
    this.timers.delete(at);
    // A due time beyond the longest timer re-arms.
    this.add(entry.count, at);
  }
}
