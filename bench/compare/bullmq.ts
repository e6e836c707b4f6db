/**
 * BullMQ 5 on this machine's Redis (one queue per run, key prefix `bench`).
 * Settings: Worker concurrency = N; BullMQ does not poll: an idle worker blocks on Redis (drainDelay
 * 5 s) and is woken by a new job. lockDuration = lease.timeoutMs (renewed every lockDuration / 2 while
 * a job runs), stalledInterval = lease.checkMs, maxStalledCount 1; completed jobs are kept (like the
 * other systems). onDone fires on the worker's `completed` event (after the job moved to completed).
 */
import { Queue, Worker } from 'bullmq';
import { hangUntil, HANG_CAP_MS } from './taskmesh.js';
import { packageVersion } from './version.js';
import type { AdapterConfig, QueueAdapter, StartWorkerOptions } from './types.js';

const JOB = 'noop';
const PREFIX = 'bench';
const version = packageVersion('bullmq');

interface Payload {
  n: number;
}

export class BullMqAdapter implements QueueAdapter {
  readonly system = 'bullmq' as const;
  readonly label = `bullmq ${version}`;
  private queue: Queue<Payload> | undefined;
  private readonly workers: Worker<Payload>[] = [];
  private readonly stopAll = new AbortController();
  private readonly name: string;

  constructor(private readonly c: AdapterConfig) {
    this.name = `q-${c.ns}`;
  }

  private connection() {
    return { host: this.c.redis.host, port: this.c.redis.port, maxRetriesPerRequest: null, connectTimeout: 3_000 };
  }

  async setup(): Promise<void> {
    this.queue = new Queue<Payload>(this.name, { connection: this.connection(), prefix: PREFIX });
    this.queue.on('error', () => undefined);
    await this.queue.waitUntilReady();
  }

  private get q(): Queue<Payload> {
    if (!this.queue) throw new Error('bullmq adapter: setup() first');
    return this.queue;
  }

  async enqueueOne(n: number): Promise<void> {
    await this.q.add(JOB, { n });
  }

  async enqueueBulk(ns: readonly number[]): Promise<void> {
    await this.q.addBulk(ns.map((n) => ({ name: JOB, data: { n } })));
  }

  async startWorker(o: StartWorkerOptions): Promise<void> {
    const stopAll = this.stopAll.signal;
    const worker = new Worker<Payload>(
      this.name,
      async (job) => {
        o.onStart?.(job.data.n);
        if (o.mode === 'hang') await hangUntil(stopAll, HANG_CAP_MS);
      },
      {
        connection: this.connection(),
        prefix: PREFIX,
        concurrency: o.concurrency,
        autorun: false,
        lockDuration: this.c.lease.timeoutMs,
        stalledInterval: this.c.lease.checkMs,
        maxStalledCount: 1,
        drainDelay: 5,
      },
    );
    worker.on('completed', (job) => o.onDone?.(job.data.n));
    worker.on('error', () => undefined);
    await worker.waitUntilReady();
    this.workers.push(worker);
    void worker.run().catch(() => undefined);
  }

  async completed(): Promise<number> {
    return this.q.getCompletedCount();
  }

  async stop(): Promise<void> {
    this.stopAll.abort();
    const ws = this.workers.splice(0);
    await Promise.all(ws.map((w) => w.close().catch(() => undefined)));
  }

  async teardown(opts: { drop?: boolean } = {}): Promise<void> {
    await this.stop();
    if (opts.drop) await this.queue?.obliterate({ force: true }).catch(() => undefined);
    await this.queue?.close().catch(() => undefined);
    this.queue = undefined;
  }
}

export const createBullMqAdapter = (c: AdapterConfig): QueueAdapter => new BullMqAdapter(c);
