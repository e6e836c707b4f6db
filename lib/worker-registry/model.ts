/** A worker's states in the registry (collection `workers`). */
export const workerStates = ['starting', 'idle', 'busy', 'draining', 'stopped', 'dead'] as const;
export type WorkerState = (typeof workerStates)[number];

export interface WorkerHostFacts {
  hostname: string;
  pid: number;
  platform: string;
  nodeVersion: string;
  /** Kubernetes downward API (NODE_NAME, POD_NAME, INSTANCE_ID) or the serverless platform's instance id. */
  nodeName?: string;
  podName?: string;
  instanceId?: string;
  /** "process", "azure-functions", "function-compute", "kubernetes". */
  runtime?: string;
}

/** The worker registry document. Updated every HeartbeatInterval; the reclaimer marks stale ones dead. */
export interface WorkerRecord {
  /** Worker id, `{node-name}-{pod-name}-{guid}`. */
  _id: string;
  host: WorkerHostFacts;
  state: WorkerState;
  currentTaskIds: string[];
  /** Task types it has handlers for. */
  types: string[];
  concurrency: number;
  startedAt: Date;
  lastHeartbeatAt: Date;
  stoppedAt?: Date | null;
  /** Tasks finished by this worker since it started (any outcome). */
  processed?: number;
  version: number;
}

export const WORKERS_COLLECTION = 'workers';
