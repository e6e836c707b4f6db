import { mongoDbSection } from './mongodb.js';
import { workerSection } from './worker.js';
import { retentionSection } from './retention.js';
import { orderingSection } from './ordering.js';
import { adminSection } from './admin.js';
import { ingestSection } from './ingest.js';
import { handlersSection } from './handlers.js';
import { functionComputeSection } from './function-compute.js';
import { queueProviderSections } from './queue-providers.js';
import { deadLetterSection } from './dead-letter.js';

/**
 * Every configuration section the code reads. A section added here is loaded from defaults, the
 * settings file and `Section__Key` environment variables, and is covered by the drift checks. The
 * queue providers' sections come from their registration (queue-providers.ts).
 */
export const sections = {
  MongoDB: mongoDbSection,
  Worker: workerSection,
  Retention: retentionSection,
  Ordering: orderingSection,
  Admin: adminSection,
  Ingest: ingestSection,
  Handlers: handlersSection,
  FunctionCompute: functionComputeSection,
  DeadLetter: deadLetterSection,
  ...queueProviderSections,
} as const;

export { queueProviders, queueProviderNames, type QueueProviderName } from './queue-providers.js';
