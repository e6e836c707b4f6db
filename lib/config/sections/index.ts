import { mongoDbSection } from './mongodb.js';
import { workerSection } from './worker.js';
import { retentionSection } from './retention.js';
import { aliyunSection } from './aliyun.js';
import { azureServiceBusSection } from './azure-service-bus.js';
import { adminSection } from './admin.js';
import { azureStorageSection } from './azure-storage.js';
import { ingestSection } from './ingest.js';
import { functionComputeSection } from './function-compute.js';

/**
 * Every configuration section the code reads. A section added here is loaded from defaults, the
 * settings file and `Section__Key` environment variables, and is covered by the drift checks.
 */
export const sections = {
  MongoDB: mongoDbSection,
  Worker: workerSection,
  Retention: retentionSection,
  Aliyun: aliyunSection,
  AzureServiceBus: azureServiceBusSection,
  Admin: adminSection,
  AzureStorage: azureStorageSection,
  Ingest: ingestSection,
  FunctionCompute: functionComputeSection,
} as const;
