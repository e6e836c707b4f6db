import { silentLogger } from '../log/logger.js';
import { runReclaimer, type ReclaimerOptions } from './reclaimer.js';
import type { ReclaimerSummary } from './summary.js';

export interface ReclaimerLoop {
  /** Stops the loop and waits for a pass in progress. */
  stop(): Promise<void>;
  /** Runs a pass now (or joins the one in progress). */
  runNow(): Promise<ReclaimerSummary | undefined>;
}

/**
 * Runs reclaimer passes every `everyMs` (default HeartbeatTimeout / 2, the first within 5 s), with up to 20% jitter so that
 * the workers of a deployment, each running one, spread out. Passes never overlap within a process;
 * across processes they are safe by construction.
 */
export function startReclaimerLoop(o: Omit<ReclaimerOptions, 'now'> & { everyMs?: number }): ReclaimerLoop {
  const everyMs = o.everyMs ?? Math.max(1_000, Math.floor(o.config.Worker.HeartbeatTimeout / 2));
  const log = o.logger ?? silentLogger;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let current: Promise<ReclaimerSummary | undefined> | undefined;

  const pass = (): Promise<ReclaimerSummary | undefined> => {
    current ??= runReclaimer(o)
      .catch((e: unknown) => {
        log.error('reclaimer pass failed', { error: e });
        return undefined;
      })
      .finally(() => {
        current = undefined;
      });
    return current;
  };
  const schedule = (delayMs: number) => {
    if (stopped) return;
    timer = setTimeout(() => void pass().finally(() => schedule(everyMs * (0.8 + Math.random() * 0.4))), delayMs);
    timer.unref();
  };
  // The first pass comes soon after start (tasks a crashed predecessor left behind), then every `everyMs`.
  schedule(Math.min(everyMs, 5_000) * Math.random());
  return {
    runNow: pass,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
