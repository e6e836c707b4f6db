export type {
  WakeUp,
  DueWakeUp,
  WakeListener,
  WakeTarget,
  WakeSource,
  WakeChannel,
  SubscribeOptions,
} from './wake-up.js';
export { inProcessChannel } from './in-process.js';
export {
  databaseChannel,
  ensureWakeIndexes,
  wakeCollections,
  type DatabaseChannelOptions,
  type DatabaseChannelMode,
  type DatabaseWakeChannel,
} from './database.js';
export { coalescing, type CoalesceOptions } from './coalesce.js';
export { WakeHub, type WakeHubOptions } from './hub.js';
export { announcingStore } from './announcing-store.js';
export { createWakeHub, type WakeHubSettings } from './compose.js';
