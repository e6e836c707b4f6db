export * from './task-store.js';
export * from './errors.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
export { taskIdFor, messageIdempotencyKey, newWriteId } from './ids.js';
export { createTaskStore, taskStoreOptions } from './create.js';
export { MongoTaskStore, type MongoTaskStoreOptions } from './mongo/store.js';
export { taskIndexes, type IndexDeclaration } from './mongo/indexes.js';
export { queries } from './mongo/queries.js';
export { TASKS_COLLECTION } from './mongo/collections.js';
// For other collections' declared, index-checked queries (the worker registry).
export { queryDeclarer, type QueryDeclaration } from './mongo/query-declaration.js';
export { indexCovers, shapeOf, type QueryShape } from './mongo/coverage.js';
