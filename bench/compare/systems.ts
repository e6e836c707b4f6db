/** The compared systems by name (the parent and the worker processes build adapters the same way). */
import { randomBytes } from 'node:crypto';
import { createAgendaAdapter } from './agenda.js';
import { createBullMqAdapter } from './bullmq.js';
import { createPgBossAdapter } from './pgboss.js';
import { createTaskmeshAdapter } from './taskmesh.js';
import type { AdapterConfig, AdapterFactory, QueueAdapter, SystemName } from './types.js';

export const adapterFactories: Record<SystemName, AdapterFactory> = {
  taskmesh: createTaskmeshAdapter,
  agenda: createAgendaAdapter,
  pgboss: createPgBossAdapter,
  bullmq: createBullMqAdapter,
};

export const createAdapter = (system: SystemName, config: AdapterConfig): QueueAdapter => adapterFactories[system](config);

/** A fresh namespace: lowercase, safe as a Mongo database, PostgreSQL schema and Redis key part. */
export const newNamespace = (tag: string) => `${tag.replace(/[^a-z0-9]/g, '')}_${randomBytes(4).toString('hex')}`;
