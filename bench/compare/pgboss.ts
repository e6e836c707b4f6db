/**
 * pg-boss 10 on this machine's PostgreSQL (database bench_pgboss, one schema per run).
 * Settings: one work() per worker with batchSize = N, its jobs run at once (at most N in flight) and
 * pg-boss completes the batch in one statement; pollingIntervalSeconds = max(0.5, pollMs / 1000)
 * (0.5 s is pg-boss's minimum). Note pg-boss's worker loop sleeps for the rest of the interval after
 * every fetch, busy or not, so one worker takes at most batchSize jobs per interval.
 * Queue: retryLimit 3, retryDelay 0, expireInSeconds = lease.timeoutMs (pg-boss has no heartbeat: a
 * job active longer than that is expired, alive or not); maintenance (which expires jobs) every
 * max(1 s, lease.checkMs), like our reclaimer loop; no cron scheduling.
 * onDone fires when the handler returned: pg-boss completes the batch right after (not awaited);
 * the scenarios stop the clock only once `completed()` counts every task.
 */
import PgBoss from 'pg-boss';
import { dropPgSchema, ensurePgDatabase } from './services.js';
import { hangUntil, HANG_CAP_MS } from './taskmesh.js';
import { packageVersion } from './version.js';
import type { AdapterConfig, QueueAdapter, StartWorkerOptions } from './types.js';

const QUEUE = 'bench-noop';
const version = packageVersion('pg-boss');

interface Payload {
  n: number;
}

export class PgBossAdapter implements QueueAdapter {
  readonly system = 'pgboss' as const;
  readonly label = `pg-boss ${version}`;
  private boss: PgBoss | undefined;
  private readonly stopAll = new AbortController();
  private readonly schema: string;
  private lastError: string | undefined;

  constructor(private readonly c: AdapterConfig) {
    this.schema = `pgboss_${c.ns}`;
  }

  async setup(): Promise<void> {
    await ensurePgDatabase(this.c.pgUrl);
    const boss = new PgBoss({
      connectionString: this.c.pgUrl,
      schema: this.schema,
      max: 10,
      schedule: false,
      supervise: true,
      maintenanceIntervalSeconds: Math.max(1, Math.round(this.c.lease.checkMs / 1000)),
    });
    boss.on('error', (e: Error) => {
      if (this.lastError !== e.message) process.stderr.write(`pg-boss error: ${e.message}\n`);
      this.lastError = e.message;
    });
    await boss.start();
    this.boss = boss;
    if (!(await boss.getQueue(QUEUE))) {
      await boss
        .createQueue(QUEUE, {
          name: QUEUE,
          retryLimit: 3,
          retryDelay: 0,
          expireInSeconds: Math.max(1, Math.round(this.c.lease.timeoutMs / 1000)),
        })
        .catch(async (e: unknown) => {
          if (!(await boss.getQueue(QUEUE))) throw e; // another process created it at the same time
        });
    }
  }

  private get b(): PgBoss {
    if (!this.boss) throw new Error('pg-boss adapter: setup() first');
    return this.boss;
  }

  async enqueueOne(n: number): Promise<void> {
    await this.b.send(QUEUE, { n });
  }

  async enqueueBulk(ns: readonly number[]): Promise<void> {
    await this.b.insert(ns.map((n) => ({ name: QUEUE, data: { n } })));
  }

  async startWorker(o: StartWorkerOptions): Promise<void> {
    const stopAll = this.stopAll.signal;
    await this.b.work<Payload>(
      QUEUE,
      { batchSize: o.concurrency, pollingIntervalSeconds: Math.max(500, this.c.pollMs) / 1000 },
      async (jobs) => {
        await Promise.all(
          jobs.map(async (job) => {
            o.onStart?.(job.data.n);
            if (o.mode === 'hang') await hangUntil(stopAll, HANG_CAP_MS);
          }),
        );
        for (const job of jobs) o.onDone?.(job.data.n);
      },
    );
  }

  async completed(): Promise<number> {
    const { rows } = await this.b
      .getDb()
      .executeSql(`select count(*)::int as n from ${this.schema}.job where name = $1 and state = 'completed'`, [QUEUE]);
    const first: unknown = rows[0];
    return first && typeof first === 'object' && 'n' in first && typeof first.n === 'number' ? first.n : 0;
  }

  async stop(): Promise<void> {
    this.stopAll.abort();
    await this.boss?.offWork(QUEUE).catch(() => undefined);
  }

  async teardown(opts: { drop?: boolean } = {}): Promise<void> {
    this.stopAll.abort();
    await this.boss?.stop({ graceful: true, timeout: 2_000, wait: true }).catch(() => undefined);
    this.boss = undefined;
    if (opts.drop) await dropPgSchema(this.c.pgUrl, this.schema).catch(() => undefined);
  }
}

export const createPgBossAdapter = (c: AdapterConfig): QueueAdapter => new PgBossAdapter(c);
