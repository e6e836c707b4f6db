import type { Collection, Db, IndexDirection } from 'mongodb';
import { WORKERS_COLLECTION, type WorkerHostFacts, type WorkerRecord, type WorkerState } from '../workers/model.js';
import { queryDeclarer } from '../store/index.js';

/** States of a worker that is (or claims to be) alive: the reclaimer may declare these dead. */
export const liveWorkerStates = ['starting', 'idle', 'busy', 'draining'] as const satisfies readonly WorkerState[];
/** States whose record only waits to be pruned. */
export const goneWorkerStates = ['stopped', 'dead'] as const satisfies readonly WorkerState[];

export interface WorkerIndexDeclaration {
  name: string;
  key: Record<string, IndexDirection>;
  why: string;
}

/**
 * Every index of the workers collection. Each query below names the one it relies on; the test in
 * test/worker/registry.test.ts checks that the index's key covers the query's filter and sort.
 */
export const workerIndexes: readonly WorkerIndexDeclaration[] = [
  { name: 'state_heartbeat', key: { state: 1, lastHeartbeatAt: 1 }, why: 'reclaimer: live workers with a stale heartbeat (mark dead), gone workers past retention (prune); listing by state' },
  { name: 'heartbeat', key: { lastHeartbeatAt: -1 }, why: 'listWorkers without a state filter, most recent heartbeat first' },
];

const declare = queryDeclarer<WorkerRecord>();
const at = new Date(0);

export const workerQueries = {
  byId: declare({ name: 'byId', index: '_id', filter: (id: string) => ({ _id: id }), sample: ['w'] }),
  stale: declare({
    name: 'stale',
    index: 'state_heartbeat',
    filter: (cutoff: Date) => ({ state: { $in: [...liveWorkerStates] }, lastHeartbeatAt: { $lt: cutoff } }),
    sample: [at],
  }),
  /** The dead-marking write: still live, still stale (a heartbeat that just arrived wins). */
  stillStale: declare({
    name: 'stillStale',
    index: '_id',
    filter: (id: string, cutoff: Date) => ({ _id: id, state: { $in: [...liveWorkerStates] }, lastHeartbeatAt: { $lt: cutoff } }),
    sample: ['w', at],
  }),
  pruneDue: declare({
    name: 'pruneDue',
    index: 'state_heartbeat',
    filter: (cutoff: Date) => ({ state: { $in: [...goneWorkerStates] }, lastHeartbeatAt: { $lt: cutoff } }),
    sample: [at],
  }),
  listAll: declare({ name: 'listAll', index: 'heartbeat', filter: () => ({}), sort: { lastHeartbeatAt: -1 }, sample: [] }),
  listByState: declare({
    name: 'listByState',
    index: 'state_heartbeat',
    filter: (states: readonly WorkerState[]) => ({ state: { $in: [...states] } }),
    sort: { lastHeartbeatAt: -1 },
    sample: [['busy']],
  }),
} as const;

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

/** The `workers` collection: one document per worker, written by the worker itself and by the reclaimer. */
export class WorkerRegistry {
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
        $set: { host: r.host, state: 'starting', currentTaskIds: [], types: [...r.types], concurrency: r.concurrency, startedAt: now, lastHeartbeatAt: now, stoppedAt: null, processed: 0 },
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
        $set: { host: r.host, types: [...r.types], concurrency: r.concurrency, state: b.state, currentTaskIds: [...b.currentTaskIds], lastHeartbeatAt: now },
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
    const stale = await this.collection.find(workerQueries.stale.filter(cutoff), { projection: { _id: 1 } }).limit(limit).toArray();
    const marked: string[] = [];
    for (const w of stale) {
      const res = await this.collection.updateOne(workerQueries.stillStale.filter(w._id, cutoff), { $set: { state: 'dead', stoppedAt: now }, $inc: { version: 1 } });
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

  list(filter: { state?: readonly WorkerState[]; limit?: number } = {}): Promise<WorkerRecord[]> {
    const limit = Math.min(Math.max(filter.limit ?? 100, 1), 1000);
    const q = filter.state?.length ? workerQueries.listByState : workerQueries.listAll;
    const f = filter.state?.length ? workerQueries.listByState.filter(filter.state) : workerQueries.listAll.filter();
    return this.collection.find(f).sort(q.sort!).limit(limit).toArray();
  }
}

/** The registry reader the admin API uses: workers, most recent heartbeat first. */
export function listWorkers(db: Db, filter: { state?: readonly WorkerState[]; limit?: number } = {}): Promise<WorkerRecord[]> {
  return new WorkerRegistry(db).list(filter);
}
