/**
 * The worker's liveness and readiness (`npm run worker --probe-port`, the Kubernetes worker
 * Deployment's probes), served by probe-server.ts like the subscriber's. Started before the worker
 * connects: while it waits for the database the pod is live but not ready (no restart loop).
 */
import type { Logger } from '../log/logger.js';
import type { Worker } from '../worker/worker.js';
import { startProbeServer, type ProbeServer, type ProbeStatus } from './probe-server.js';

/**
 * One claim through the store policy can take this long before the loop turns again: four tries at the
 * policy's 30 s call timeout plus their backoffs. A loop quiet for longer than that is hung, not slow.
 */
const CLAIM_BUDGET_MS = 150_000;

/** How long the run loop may go without turning before the worker counts as hung: its longest wait twice, plus a claim. */
export function stuckAfterMs(pollingIntervalMs: number, pauseMs: number): number {
  return 2 * Math.max(pollingIntervalMs, pauseMs) + CLAIM_BUDGET_MS;
}

export interface WorkerProbeStatus {
  live: ProbeStatus;
  ready: ProbeStatus;
}

/**
 * Live while connecting, draining (bounded by the pod's grace period), or while the run loop keeps
 * turning; ready only while it runs: not while connecting, paused on an unavailable database, or draining.
 */
export function workerProbeStatus(
  worker: Pick<Worker, 'activity'> | undefined,
  pollingIntervalMs: number,
  now = Date.now(),
): WorkerProbeStatus {
  if (!worker) return { live: { ok: true, detail: 'connecting' }, ready: { ok: false, detail: 'connecting' } };
  const { state, loopTurnedAt, pauseMs } = worker.activity();
  const quietMs = now - loopTurnedAt;
  const looping = state === 'running' || state === 'paused';
  const live: ProbeStatus =
    looping && quietMs > stuckAfterMs(pollingIntervalMs, pauseMs)
      ? { ok: false, detail: `run loop has not turned for ${quietMs} ms` }
      : { ok: true, detail: state };
  const ready: ProbeStatus =
    state === 'running'
      ? { ok: true, detail: 'running' }
      : { ok: false, detail: state === 'paused' ? 'paused: database unavailable' : state };
  return { live, ready };
}

export interface WorkerProbesOptions {
  port: number;
  host: string;
  pollingIntervalMs: number;
  logger: Logger;
  /** A port already in use (several workers on one machine, all on the default port) only costs the probes. */
  optional?: boolean;
}

export interface WorkerProbes {
  /** The running worker the probes report on (until then: connecting). */
  attach(worker: Worker): void;
  close(): Promise<void>;
}

export async function startWorkerProbes(o: WorkerProbesOptions): Promise<WorkerProbes> {
  let worker: Worker | undefined;
  let server: ProbeServer | undefined;
  try {
    server = await startProbeServer({
      port: o.port,
      host: o.host,
      live: () => workerProbeStatus(worker, o.pollingIntervalMs).live,
      ready: () => workerProbeStatus(worker, o.pollingIntervalMs).ready,
    });
    o.logger.info('probes listening', { probePort: server.port, liveness: '/healthz', readiness: '/readyz' });
  } catch (e) {
    if (!o.optional || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    o.logger.warn('probe port in use: running without probes', { probePort: o.port });
  }
  return {
    attach: (w) => {
      worker = w;
    },
    close: async () => {
      await server?.close();
    },
  };
}
