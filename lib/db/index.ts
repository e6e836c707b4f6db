export { connectDatabase, DatabaseConnectionError, type Database } from './connect.js';
export {
  createStorePolicy,
  DatabaseUnavailableError,
  DatabaseThrottledError,
  isDatabaseUnavailable,
  type StorePolicy,
  type ResilienceOptions,
} from './resilience.js';
export { isThrottled, throttleOf, THROTTLED_CODE } from './throttling.js';
