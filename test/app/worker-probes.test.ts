/**
 * The worker's probe answers (lib/app/worker-probes.ts) for each state the run loop can be in, and the
 * liveness bound: a loop that stopped turning for longer than its longest wait twice plus a claim's
 * budget is hung; one that is paused on a database outage is alive but not ready.
 */
import { describe, expect, it } from 'vitest';
import { stuckAfterMs, workerProbeStatus } from '../../lib/app/worker-probes.js';
import type { Worker } from '../../lib/worker/worker.js';

type Activity = ReturnType<Worker['activity']>;
const polling = 1_000;
const pauseMs = 1_000;
const stuck = stuckAfterMs(polling, pauseMs);
const now = 1_000_000;
const at = (state: Activity['state'], loopTurnedAt: number) => ({
  activity: (): Activity => ({ state, loopTurnedAt, pauseMs }),
});

describe('worker probes', () => {
  it('derives the bound from the polling interval and the store pause, whichever is longer', () => {
    expect(stuckAfterMs(60_000, 1_000) - stuckAfterMs(1_000, 1_000)).toBe(2 * 59_000);
    expect(stuckAfterMs(1_000, 30_000) - stuckAfterMs(1_000, 1_000)).toBe(2 * 29_000);
  });

  it('is live but not ready while connecting', () => {
    expect(workerProbeStatus(undefined, polling)).toEqual({
      live: { ok: true, detail: 'connecting' },
      ready: { ok: false, detail: 'connecting' },
    });
  });

  it('is live and ready while running, not ready while paused on an outage or stopping', () => {
    expect(workerProbeStatus(at('running', now), polling, now)).toEqual({
      live: { ok: true, detail: 'running' },
      ready: { ok: true, detail: 'running' },
    });
    expect(workerProbeStatus(at('paused', now), polling, now)).toEqual({
      live: { ok: true, detail: 'paused' },
      ready: { ok: false, detail: 'paused: database unavailable' },
    });
    expect(workerProbeStatus(at('stopping', now), polling, now).ready).toEqual({ ok: false, detail: 'stopping' });
  });

  it('is not live once the run loop stopped turning past the bound, except while draining', () => {
    const quiet = now - stuck - 1;
    expect(workerProbeStatus(at('running', now - stuck), polling, now).live.ok).toBe(true);
    expect(workerProbeStatus(at('running', quiet), polling, now).live).toEqual({
      ok: false,
      detail: `run loop has not turned for ${stuck + 1} ms`,
    });
    expect(workerProbeStatus(at('paused', quiet), polling, now).live.ok).toBe(false);
    // The drain waits for running tasks, not in the loop: the pod's grace period bounds it.
    expect(workerProbeStatus(at('stopping', quiet), polling, now).live.ok).toBe(true);
  });
});
