/**
 * taskmesh: the programmatic API. Processors, functions and other people's code use this one surface.
 *
 *   import { loadConfig, connectDatabase, createTaskStore, JobTaskStatus } from 'taskmesh';
 */
export * from './config/index.js';
export * from './tasks/index.js';
export * from './store/index.js';
export * from './db/index.js';
export { createLogger, silentLogger, type Logger, type LogLevel, type LogFields } from './log/logger.js';
export { createTaskStore } from './store/create.js';
export * from './worker-registry/index.js';
export * from './handlers/index.js';
export * from './worker/index.js';
export * from './reclaimer/index.js';
export * from './app/index.js';
export * from './admin/index.js';
export * from './telemetry/index.js';
export * from './ingest/index.js';
export type {
  QueueProvider,
  QueueMessage,
  OutgoingMessage,
  ReceiveOptions,
  QueueHealth,
  SendResult,
} from './queues/provider.js';
export { QueueProviderError } from './queues/provider.js';
export { createQueueProvider, QueueProviderUnavailableError } from './queues/factory.js';
