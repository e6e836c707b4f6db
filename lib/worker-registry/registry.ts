import type { Collection, Db } from 'mongodb';
import { WORKERS_COLLECTION, type WorkerHostFacts, type WorkerRecord, type WorkerState } from './model.js';
import { workerIndexes, workerQueries } from './queries.js';

export interface WorkerBeat {
  state: WorkerState;
  currentTaskIds: readonly string[];
  /** Tasks finished since the previous beat. */
  processedDelta?: number;
}

export interface WorkerRegistration {
  id: string;
  host: WorkerHostFacts;
  types: readonly string[];
  concurrency: number;
}

export interface WorkerListFilter {
  state?: readonly WorkerState[];
  /** 1 to 1,000 (default 100). */
  limit?: number;
}

/** What a reader of the registry (the admin API) uses: workers, most recent heartbeat first. */
export interface WorkerListing {
  list(filter?: WorkerListFilter): Promise<WorkerRecord[]>;
}

/**
 * The `workers` collection: one document per worker, written by the worker itself and by the
 * reclaimer, read by the admin API. Every query it sends is declared in queries.ts with its index.
 */
export class WorkerRegistry implements WorkerListing {
  readonly collection: Collection<WorkerRecord>;

  constructor(db: Db) {
    this.collection = db.collection<WorkerRecord>(WORKERS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndexes(workerIndexes.map((i) => ({ key: i.key, name: i.name })));
  }

  /** A (re)started worker: its record is reset (a persisted id comes back as a new run). */
  async register(r: WorkerRegistration, now = new Date()): Promise<void> {
    await this.collection.updateOne(
      workerQueries.byId.filter(r.id),
      {
        $set: {
          host: r.host,
          state: 'starting',
          currentTaskIds: [],
          types: [...r.types],
          concurrency: r.concurrency,
          startedAt: now,
          lastHeartbeatAt: now,
          stoppedAt: null,
          processed: 0,
        },
        $inc: { version: 1 },
      },
      { upsert: true },
    );
  }

  /**
   * The periodic beat. An upsert carrying the whole identity, so a record pruned or marked dead while
   * the worker was cut off from the database comes back as it is.
   */
  async beat(r: WorkerRegistration, b: WorkerBeat, now = new Date()): Promise<void> {
    await this.collection.updateOne(
      workerQueries.byId.filter(r.id),
      {
        $set: {
          host: r.host,
          types: [...r.types],
          concurrency: r.concurrency,
          state: b.state,
          currentTaskIds: [...b.currentTaskIds],
          lastHeartbeatAt: now,
        },
        $setOnInsert: { startedAt: now },
        $inc: { version: 1, processed: b.processedDelta ?? 0 },
      },
      { upsert: true },
    );
  }

  async markStopped(id: string, processedDelta = 0, now = new Date()): Promise<void> {
    await this.collection.updateOne(workerQueries.byId.filter(id), {
      $set: { state: 'stopped', currentTaskIds: [], stoppedAt: now, lastHeartbeatAt: now },
      $inc: { version: 1, processed: processedDelta },
    });
  }

  /**
   * Live workers whose last heartbeat is older than the timeout become dead. Each write is
   * conditional on the record still being live and stale, so concurrent reclaimers (or a heartbeat
   * arriving meanwhile) never double-count. Returns the ids this call marked.
   */
  async markDead(heartbeatTimeoutMs: number, now = new Date(), limit = 1000): Promise<string[]> {
    const cutoff = new Date(now.getTime() - heartbeatTimeoutMs);
    const stale = await this.collection
      .find(workerQueries.stale.filter(cutoff), { projection: { _id: 1 } })
      .limit(limit)
      .toArray();
    const marked: string[] = [];
    for (const w of stale) {
      const res = await this.collection.updateOne(workerQueries.stillStale.filter(w._id, cutoff), {
        $set: { state: 'dead', stoppedAt: now },
        $inc: { version: 1 },
      });
      if (res.modifiedCount === 1) marked.push(w._id);
    }
    return marked;
  }

  /** Removes records of stopped and dead workers older than `afterMs`. */
  async prune(afterMs: number, now = new Date()): Promise<number> {
    const res = await this.collection.deleteMany(workerQueries.pruneDue.filter(new Date(now.getTime() - afterMs)));
    return res.deletedCount;
  }

  get(id: string): Promise<WorkerRecord | null> {
    return this.collection.findOne(workerQueries.byId.filter(id));
  }

  /** Workers, most recent heartbeat first; by state when `state` is given. */
  list(filter: WorkerListFilter = {}): Promise<WorkerRecord[]> {
    const limit = Math.min(Math.max(filter.limit ?? 100, 1), 1000);
    const byState = filter.state?.length ? filter.state : undefined;
    const q = byState ? workerQueries.listByState : workerQueries.listAll;
    const f = byState ? workerQueries.listByState.filter(byState) : workerQueries.listAll.filter();
    return this.collection.find(f).sort(q.sort!).limit(limit).toArray();
  }
}
