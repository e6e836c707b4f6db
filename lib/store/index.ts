export * from './types.js';
export * from './errors.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
export { taskIdFor, messageIdempotencyKey } from './ids.js';
export { MongoTaskStore, type MongoTaskStoreOptions } from './mongo/store.js';
export { taskIndexes, type IndexDeclaration } from './mongo/indexes.js';
export { queries } from './mongo/queries.js';
export { TASKS_COLLECTION } from './mongo/collections.js';
