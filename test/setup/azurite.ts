import type { TestProject } from 'vitest/node';
import { startAzuriteQueue, type AzuriteHandle } from '../../tools/azurite.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection string of the suite's Azurite Queue service (in memory, free port). */
    azuriteQueueConnectionString: string;
  }
}

let azurite: AzuriteHandle | undefined;

/** Starts Azurite's Queue service once for the suite, unless AZURITE_QUEUE_CONNECTION_STRING points elsewhere. */
export default async function setup(project: TestProject) {
  const external = process.env.AZURITE_QUEUE_CONNECTION_STRING;
  if (external) {
    project.provide('azuriteQueueConnectionString', external);
    return;
  }
  azurite = await startAzuriteQueue();
  project.provide('azuriteQueueConnectionString', azurite.connectionString);
  return async () => {
    await azurite?.stop();
  };
}
