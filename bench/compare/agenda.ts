/**
 * Agenda 6 (MongoBackend) on the same mongo-java-server as taskmesh.
 * Settings: processEvery = pollMs; concurrency = lockLimit = maxConcurrency = N (it locks at most N
 * jobs ahead, like our BatchSize = Concurrency); lockLifetime = lease.timeoutMs; a hanging job calls
 * job.touch() every lease.refreshMs (Agenda's documented way to keep a long job's lock).
 * Enqueueing uses a second Agenda instance that never starts (a producer), so it only inserts.
 * Agenda has no bulk insert: enqueueBulk saves the chunk's jobs concurrently (`now()` per job).
 * onDone fires on `complete:<name>`, after Agenda saved the finished job (its `success` event comes
 * before that save).
 */
import { MongoBackend } from '@agendajs/mongo-backend';
import { Agenda, type Job, type JobWithId } from 'agenda';
import { MongoClient, type Db } from 'mongodb';
import { hangUntil, HANG_CAP_MS } from './taskmesh.js';
import { packageVersion } from './version.js';
import type { AdapterConfig, QueueAdapter, StartWorkerOptions } from './types.js';

const JOB = 'bench-noop';
const COLLECTION = 'agendaJobs';
const version = packageVersion('agenda');

interface Payload {
  n: number;
}

function payloadN(data: unknown): number | undefined {
  return data && typeof data === 'object' && 'n' in data && typeof data.n === 'number' ? data.n : undefined;
}

export class AgendaAdapter implements QueueAdapter {
  readonly system = 'agenda' as const;
  readonly label = `agenda ${version}`;
  private client: MongoClient | undefined;
  private db: Db | undefined;
  private producer: Agenda | undefined;
  private readonly workers: Agenda[] = [];
  private readonly stopAll = new AbortController();

  constructor(private readonly c: AdapterConfig) {}

  async setup(): Promise<void> {
    this.client = await new MongoClient(this.c.mongoUri, { maxPoolSize: 100 }).connect();
    this.db = this.client.db(`bench_cmp_${this.c.ns}`);
    this.producer = new Agenda({ backend: new MongoBackend({ mongo: this.db, collection: COLLECTION }) });
    await this.producer.ready;
  }

  private get p(): Agenda {
    if (!this.producer) throw new Error('agenda adapter: setup() first');
    return this.producer;
  }

  async enqueueOne(n: number): Promise<void> {
    await this.p.now<Payload>(JOB, { n });
  }

  async enqueueBulk(ns: readonly number[]): Promise<void> {
    await Promise.all(ns.map((n) => this.p.now<Payload>(JOB, { n })));
  }

  async startWorker(o: StartWorkerOptions): Promise<void> {
    const n = o.concurrency;
    const agenda = new Agenda({
      backend: new MongoBackend({ mongo: this.db!, collection: COLLECTION }),
      processEvery: this.c.pollMs,
      maxConcurrency: n,
      defaultConcurrency: n,
      lockLimit: n,
      defaultLockLimit: n,
      defaultLockLifetime: this.c.lease.timeoutMs,
    });
    const stopAll = this.stopAll.signal;
    const refreshMs = this.c.lease.refreshMs;
    agenda.define<Payload>(
      JOB,
      async (job: Job<Payload>) => {
        o.onStart?.(job.attrs.data.n);
        if (o.mode !== 'hang') return;
        const until = Date.now() + HANG_CAP_MS;
        while (!stopAll.aborted && Date.now() < until) {
          await hangUntil(stopAll, refreshMs);
          if (!stopAll.aborted) await job.touch();
        }
      },
      { concurrency: n, lockLimit: n, lockLifetime: this.c.lease.timeoutMs },
    );
    agenda.on(`complete:${JOB}`, (job: JobWithId, remote?: false) => {
      const n = payloadN(job.attrs.data);
      if (!remote && n !== undefined && job.attrs.lastFinishedAt && !job.attrs.failedAt) o.onDone?.(n);
    });
    agenda.on('error', () => undefined);
    await agenda.ready;
    this.workers.push(agenda);
    await agenda.start();
  }

  async completed(): Promise<number> {
    return this.db!.collection(COLLECTION).countDocuments({ name: JOB, lastFinishedAt: { $ne: null }, failedAt: null });
  }

  async stop(): Promise<void> {
    this.stopAll.abort();
    const ws = this.workers.splice(0);
    await Promise.all(ws.map((a) => a.stop(false).catch(() => undefined)));
  }

  async teardown(opts: { drop?: boolean } = {}): Promise<void> {
    await this.stop();
    if (opts.drop) await this.db?.dropDatabase().catch(() => undefined);
    await this.client?.close();
    this.client = undefined;
  }
}

export const createAgendaAdapter = (c: AdapterConfig): QueueAdapter => new AgendaAdapter(c);
