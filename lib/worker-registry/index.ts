export {
  workerStates,
  WORKERS_COLLECTION,
  type WorkerState,
  type WorkerHostFacts,
  type WorkerRecord,
} from './model.js';
export {
  workerIndexes,
  workerQueries,
  liveWorkerStates,
  goneWorkerStates,
  type WorkerIndexDeclaration,
} from './queries.js';
export {
  WorkerRegistry,
  type WorkerBeat,
  type WorkerRegistration,
  type WorkerListFilter,
  type WorkerListing,
} from './registry.js';
