/**
 * The compared systems by name. Adapters are loaded on demand, so a worker process loads only its own
 * system's client library (it starts several seconds sooner than with all four).
 */
import { randomBytes } from 'node:crypto';
import type { AdapterConfig, AdapterFactory, QueueAdapter, SystemName } from './types.js';

const loaders: Record<SystemName, () => Promise<AdapterFactory>> = {
  taskmesh: async () => (await import('./taskmesh.js')).createTaskmeshAdapter,
  agenda: async () => (await import('./agenda.js')).createAgendaAdapter,
  pgboss: async () => (await import('./pgboss.js')).createPgBossAdapter,
  bullmq: async () => (await import('./bullmq.js')).createBullMqAdapter,
};

export async function createAdapter(system: SystemName, config: AdapterConfig): Promise<QueueAdapter> {
  return (await loaders[system]())(config);
}

/** A fresh namespace: lowercase, safe as a Mongo database, PostgreSQL schema and Redis key part. */
export const newNamespace = (tag: string) => `${tag.replace(/[^a-z0-9]/g, '')}_${randomBytes(4).toString('hex')}`;
