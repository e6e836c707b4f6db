import { delayOf, type WakeTarget, type WakeUp } from './wake-up.js';

export interface CoalesceOptions {
  /** At most this many announcements per second reach the target (default 20). */
  perSecond?: number;
  /** Delayed wake-ups whose due times fall in one slot of this width merge (default 100 ms); rounded up, never early. */
  slotMs?: number;
}

/**
 * Bounds the announcements a target receives (each may be a queue message or a database write):
 * within the budget each passes at once; beyond it they merge, their counts summed, and go out as the
 * budget refills. A delayed wake-up's due time is rounded up to its slot so that wake-ups due close
 * together merge; never rounded down, since a wake-up before its due time would find nothing.
 */
export function coalescing(target: WakeTarget, o: CoalesceOptions = {}): WakeTarget & { flush(): Promise<void> } {
  const perSecond = Math.max(1, o.perSecond ?? 20);
  const slotMs = Math.max(1, o.slotMs ?? 100);
  let tokens = perSecond;
  let refilledAt = Date.now();
  const NOW = 0;
  /** Waiting announcements: due time (0 = now) -> count. */
  const pending = new Map<number, number>();
  let timer: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<void>>();

  const refill = () => {
    const t = Date.now();
    tokens = Math.min(perSecond, tokens + ((t - refilledAt) * perSecond) / 1000);
    refilledAt = t;
  };
  const send = (w: WakeUp) => {
    tokens -= 1;
    const p = target.announce(w).finally(() => inFlight.delete(p));
    inFlight.add(p);
    return p;
  };
  const drain = (): Promise<void>[] => {
    timer = undefined;
    refill();
    const sent: Promise<void>[] = [];
    // Due now first, then by due time.
    for (const at of [...pending.keys()].sort((a, b) => a - b)) {
      if (tokens < 1) break;
      const count = pending.get(at)!;
      pending.delete(at);
      sent.push(send(at === NOW ? { count } : { count, at: new Date(at) }));
    }
    if (pending.size > 0 && !timer) {
      timer = setTimeout(() => void drain(), Math.ceil(((1 - tokens) * 1000) / perSecond));
      timer.unref();
    }
    return sent;
  };

  return {
    announce(w) {
      if (w.count <= 0) return Promise.resolve();
      const delay = delayOf(w);
      const at = delay > 0 ? Math.ceil(w.at!.getTime() / slotMs) * slotMs : NOW;
      pending.set(at, (pending.get(at) ?? 0) + w.count);
      // Within the budget it goes out now, and the caller may await it; beyond, it waits its turn.
      return timer ? Promise.resolve() : Promise.all(drain()).then(() => undefined);
    },
    async flush() {
      while (pending.size > 0 || inFlight.size > 0) {
        if (timer) {
          clearTimeout(timer);
          timer = undefined;
        }
        tokens = Math.max(tokens, pending.size);
        drain();
        await Promise.all([...inFlight]);
      }
    },
  };
}
