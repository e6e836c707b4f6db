import { silentLogger, type Logger } from '../log/logger.js';
import { coalescing, type CoalesceOptions } from './coalesce.js';
import type { SubscribeOptions, WakeChannel, WakeListener, WakeSource, WakeTarget, WakeUp } from './wake-up.js';

export interface WakeHubOptions {
  /** In-process channel: announcements reach this process's listeners at once, uncoalesced. */
  local?: WakeChannel;
  /** Channels reaching other processes (database): announced through the coalescer, listened to as well. */
  shared?: readonly WakeChannel[];
  coalesce?: CoalesceOptions;
  logger?: Logger;
}

/**
 * A host's wake-ups, composed: announcements go to the in-process channel at once and, bounded per
 * second (lib/wake/coalesce.ts), to the channels that reach other processes and to the host's
 * targets (the dispatch queue on Azure, asynchronous invocations on Function Compute). Listeners hear
 * the in-process channel and the shared ones.
 */
export class WakeHub implements WakeTarget, WakeSource {
  private readonly local: WakeChannel | undefined;
  private readonly shared: readonly WakeChannel[];
  private readonly targets = new Map<string, WakeTarget>();
  private readonly remote: ReturnType<typeof coalescing>;
  private readonly log: Logger;

  constructor(o: WakeHubOptions = {}) {
    this.local = o.local;
    this.shared = o.shared ?? [];
    this.log = (o.logger ?? silentLogger).child({ component: 'wake' });
    const fanOut: WakeTarget = {
      announce: async (w) => {
        const all = [...this.shared, ...this.targets.values()];
        await Promise.all(
          all.map((t) =>
            t.announce(w).catch((e: unknown) => this.log.warn('wake-up announcement failed', { error: e })),
          ),
        );
      },
    };
    this.remote = coalescing(fanOut, o.coalesce);
  }

  /** Adds (or replaces, or with undefined removes) a named target: the dispatch queue, an invoker. */
  setTarget(name: string, target: WakeTarget | undefined): void {
    if (target) this.targets.set(name, target);
    else this.targets.delete(name);
  }

  announce(w: WakeUp): Promise<void> {
    if (w.count <= 0) return Promise.resolve();
    void this.local?.announce(w);
    return this.remote.announce(w);
  }

  subscribe(listener: WakeListener, opts?: SubscribeOptions): () => void {
    const offs = [this.local, ...this.shared].flatMap((c) => (c ? [c.subscribe(listener, opts)] : []));
    return () => {
      for (const off of offs) off();
    };
  }

  /** Sends what the coalescer still holds, then closes the channels. */
  async close(): Promise<void> {
    await this.remote.flush();
    await Promise.all([this.local, ...this.shared].map((c) => c?.close()));
  }
}
