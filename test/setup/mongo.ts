import type { TestProject } from 'vitest/node';
import { startMongoServer, type MongoServerHandle } from '../../tools/mongo-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string;
    /** True when the suite started mongo-java-server itself (so tests may stop and restart it). */
    mongoManaged: boolean;
  }
}

let server: MongoServerHandle | undefined;

/** Starts mongo-java-server (memory backend) unless MONGODB_URI points the suite at another server. */
export default async function setup(project: TestProject) {
  const external = process.env.MONGODB_URI;
  if (external) {
    project.provide('mongoUri', external);
    project.provide('mongoManaged', false);
    return;
  }
  server = await startMongoServer({ backend: 'memory' });
  project.provide('mongoUri', server.uri);
  project.provide('mongoManaged', true);
  return async () => {
    await server?.stop();
  };
}
