import type { IndexDirection } from 'mongodb';
import { queryDeclarer } from '../store/index.js';
import type { WorkerRecord, WorkerState } from './model.js';

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
 * test/worker-registry/registry.test.ts checks that the index's key serves the query's filter and sort.
 */
export const workerIndexes: readonly WorkerIndexDeclaration[] = [
  {
    name: 'state_heartbeat',
    key: { state: 1, lastHeartbeatAt: 1 },
    why: 'reclaimer: live workers with a stale heartbeat (mark dead), gone workers past retention (prune); listing by state',
  },
  {
    name: 'heartbeat',
    key: { lastHeartbeatAt: -1 },
    why: 'listing without a state filter, most recent heartbeat first',
  },
];

const declare = queryDeclarer<WorkerRecord>();
const at = new Date(0);

/** Every query the registry sends to the workers collection, with the index it relies on. */
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
    filter: (id: string, cutoff: Date) => ({
      _id: id,
      state: { $in: [...liveWorkerStates] },
      lastHeartbeatAt: { $lt: cutoff },
    }),
    sample: ['w', at],
  }),
  pruneDue: declare({
    name: 'pruneDue',
    index: 'state_heartbeat',
    filter: (cutoff: Date) => ({ state: { $in: [...goneWorkerStates] }, lastHeartbeatAt: { $lt: cutoff } }),
    sample: [at],
  }),
  listAll: declare({
    name: 'listAll',
    index: 'heartbeat',
    filter: () => ({}),
    sort: { lastHeartbeatAt: -1 },
    sample: [],
  }),
  listByState: declare({
    name: 'listByState',
    index: 'state_heartbeat',
    filter: (states: readonly WorkerState[]) => ({ state: { $in: [...states] } }),
    sort: { lastHeartbeatAt: -1 },
    sample: [['busy']],
  }),
} as const;
