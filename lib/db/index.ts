export { connectDatabase, DatabaseConnectionError, type Database } from './connect.js';
export {
  createStorePolicy,
  DatabaseUnavailableError,
  isDatabaseUnavailable,
  type StorePolicy,
  type ResilienceOptions,
} from './resilience.js';
