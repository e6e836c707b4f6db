import { DatabaseUnavailableError, type StorePolicy } from '../db/resilience.js';
import type { Logger } from '../log/logger.js';
import { leaseKey, type HeartbeatResult, type TaskStore } from '../store/task-store.js';
import type { TaskRun } from './task-run.js';

export interface HeartbeatTarget {
  /** Every run holding a lease (waiting for a slot, starting, running, finishing). */
  runs(): Iterable<TaskRun>;
  onLeaseLost(run: TaskRun): void;
  onCancelRequested(run: TaskRun): void;
  /** The worker's own registry record. */
  beatRegistry(): Promise<void>;
}

export interface HeartbeatOptions {
  store: TaskStore;
  policy: StorePolicy;
  logger: Logger;
  intervalMs: number;
  target: HeartbeatTarget;
}

/**
 * Every HeartbeatInterval: one batched heartbeat for the leases held (a separate one, carrying it,
 * for each run with new progress), and the worker's registry record. Its answers drive aborts: a
 * lost lease or a cancel request stops the handler. A beat the database cannot take is skipped; the
 * leases stay ours until HeartbeatTimeout, and the next beat tries again.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private skipped = 0;

  constructor(private readonly o: HeartbeatOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.beat(), this.o.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /** One beat now (overlapping beats are not started: a slow one just delays the next). */
  beat(): Promise<void> {
    if (!this.inFlight) {
      this.inFlight = Promise.all([this.beatTasks(), this.beatRegistry()])
        .then(() => undefined)
        .finally(() => {
          this.inFlight = undefined;
        });
    }
    return this.inFlight;
  }

  private async beatRegistry(): Promise<void> {
    try {
      await this.o.target.beatRegistry();
    } catch (e) {
      this.o.logger.debug('worker registry beat failed', { error: e });
    }
  }

  private async beatTasks(): Promise<void> {
    const runs = [...this.o.target.runs()].filter((r) => r.phase !== 'finishing');
    if (runs.length === 0) return;
    const withProgress = runs.filter((r) => r.progressSeq > r.sentProgressSeq);
    const plain = runs.filter((r) => r.progressSeq <= r.sentProgressSeq);
    const results = new Map<string, HeartbeatResult>();
    try {
      const [many, ...singles] = await Promise.all([
        plain.length
          ? this.o.policy.execute(() => this.o.store.heartbeatMany(plain.map((r) => r.lease)))
          : Promise.resolve(new Map<string, HeartbeatResult>()),
        ...withProgress.map(async (r) => {
          const seq = r.progressSeq;
          const res = await this.o.policy.execute(() => this.o.store.heartbeat(r.lease, { progress: r.progress }));
          if (res.owned) r.sentProgressSeq = seq;
          return [leaseKey(r.lease), res] as const;
        }),
      ]);
      for (const [id, res] of many) results.set(id, res);
      for (const [id, res] of singles) results.set(id, res);
      if (this.skipped > 0) this.o.logger.info('heartbeats resumed', { skipped: this.skipped });
      this.skipped = 0;
    } catch (e) {
      if (!(e instanceof DatabaseUnavailableError)) this.o.logger.error('heartbeat failed', { error: e });
      else if (this.skipped++ === 0)
        this.o.logger.warn('heartbeat skipped: database unavailable', { error: e.message });
      return;
    }
    for (const run of runs) {
      // Keyed by task id and token: an old run of a task and a new one are told apart.
      const res = results.get(leaseKey(run.lease));
      // Only a run still waiting or running reacts: one that is starting or finishing learns its fate from that write.
      if (!res || (run.phase !== 'running' && run.phase !== 'waiting')) continue;
      if (!res.owned) this.o.target.onLeaseLost(run);
      else if (res.cancelRequested) this.o.target.onCancelRequested(run);
    }
  }
}
